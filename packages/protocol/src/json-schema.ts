import * as z from 'zod/mini';
import { Limits } from './limits.js';
import { ClientEventFrame, ClientFrame, HelloFrame, ServerFrame } from './schemas.js';

type JsonSchema = Record<string, unknown>;

/**
 * Rules the Zod schemas state with `refine` (which JSON Schema cannot see), written out as JSON
 * Schema keywords so that a validator in another language refuses the same frames (issue 19):
 * - `event`: exactly one of `conversationId` and `userId` (`oneOf` two `required`s: both match
 *   or neither does, and the frame is refused);
 * - `hello.cursors`: at most `Limits.MAX_CURSORS` entries (`maxProperties`).
 */
function refinements(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  if (ctx.zodSchema === ClientEventFrame) {
    ctx.jsonSchema.oneOf = [{ required: ['conversationId'] }, { required: ['userId'] }];
  } else if (ctx.zodSchema === HelloFrame.shape.cursors.def.innerType) {
    ctx.jsonSchema.maxProperties = Limits.MAX_CURSORS;
  }
}

/**
 * JSON Schema (draft 2020-12) of every frame a client may send — what a server in any language
 * must accept. Objects are open (unknown fields are ignored, never rejected). The one rule it
 * cannot state is the nesting depth of app-defined JSON (`data`, `payload`: at most
 * `Limits.MAX_JSON_DEPTH`).
 */
export function clientJsonSchema(): JsonSchema {
  return {
    title: 'Parley protocol v1: client to server frames',
    ...z.toJSONSchema(ClientFrame, {
      io: 'input',
      unrepresentable: 'any',
      override: refinements as never,
    }),
  };
}

/** JSON Schema (draft 2020-12) of every frame a server may send. */
export function serverJsonSchema(): JsonSchema {
  return {
    title: 'Parley protocol v1: server to client frames',
    ...z.toJSONSchema(ServerFrame, { io: 'input', unrepresentable: 'any' }),
  };
}
