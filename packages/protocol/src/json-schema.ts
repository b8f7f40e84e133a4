import * as z from 'zod/mini';
import { ClientFrame, ServerFrame } from './schemas.js';

/**
 * JSON Schema (draft 2020-12) of every frame a client may send — what a server in any language
 * must accept. Objects are open (unknown fields are ignored, never rejected).
 */
export function clientJsonSchema(): Record<string, unknown> {
  return {
    title: 'Parley protocol v1: client to server frames',
    ...z.toJSONSchema(ClientFrame, { io: 'input', unrepresentable: 'any' }),
  };
}

/** JSON Schema (draft 2020-12) of every frame a server may send. */
export function serverJsonSchema(): Record<string, unknown> {
  return {
    title: 'Parley protocol v1: server to client frames',
    ...z.toJSONSchema(ServerFrame, { io: 'input', unrepresentable: 'any' }),
  };
}
