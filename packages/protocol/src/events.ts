/**
 * App-defined custom events. An app declares its events once with its own schemas (Zod or any
 * Standard Schema library) and hands the same definition to the client and to the hub: both
 * validate, and the call sites are fully typed.
 *
 * ```ts
 * import { z } from 'zod';
 * export const events = defineEvents({
 *   'call.offer': z.object({ sdp: z.string() }),
 *   'call.ice': z.object({ candidate: z.string(), sdpMid: z.string().nullable() }),
 * });
 * ```
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';

export type { StandardSchemaV1 };

/** A map from event name to the schema of its payload. */
export type EventSchemas = Record<string, StandardSchemaV1>;

/** Event names of a definition, as strings. */
export type EventName<E extends EventSchemas> = keyof E & string;
/** What the sender passes for event `K`. */
export type EventInput<
  E extends EventSchemas,
  K extends EventName<E>,
> = StandardSchemaV1.InferInput<E[K]>;
/** What the receiver gets for event `K` (after the schema's transforms). */
export type EventPayload<
  E extends EventSchemas,
  K extends EventName<E>,
> = StandardSchemaV1.InferOutput<E[K]>;

/** No custom events: the default type parameter of the client and hub. */
export type NoEvents = Record<never, StandardSchemaV1>;

/** Declares an app's custom events. Returns its argument, typed. */
export function defineEvents<const E extends EventSchemas>(schemas: E): E {
  for (const name of Object.keys(schemas)) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      throw new TypeError(
        `invalid event name ${JSON.stringify(name)}: use 1-64 of A-Z a-z 0-9 _ . : -`,
      );
    }
  }
  return schemas;
}

/** The result of validating an event payload. */
export type EventValidation<T> =
  | { ok: true; value: T }
  | { ok: false; code: 'not_found' | 'invalid_frame'; message: string; field: string };

/**
 * Validates `payload` for event `name` against the app's definition. Unknown names are
 * `not_found`; a payload that fails its schema is `invalid_frame` with the first issue's path.
 */
export async function validateEvent<E extends EventSchemas>(
  schemas: E,
  name: string,
  payload: unknown,
): Promise<EventValidation<unknown>> {
  const schema = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
  if (schema === undefined) {
    return {
      ok: false,
      code: 'not_found',
      message: `unknown event ${JSON.stringify(name)}`,
      field: 'name',
    };
  }
  let result = schema['~standard'].validate(payload);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return { ok: true, value: result.value };
  const issue = result.issues[0];
  const path = (issue?.path ?? [])
    .map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String(p.key) : String(p)))
    .join('.');
  const field = path === '' ? 'payload' : `payload.${path}`;
  return {
    ok: false,
    code: 'invalid_frame',
    message: `event ${name}: ${field}: ${issue?.message ?? 'invalid payload'}`,
    field,
  };
}
