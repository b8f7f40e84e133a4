/**
 * @packageDocumentation
 * Parley protocol v1: the Zod schemas of every frame, the validating codec and the JSON Schema
 * export, plus everything of `@parley/protocol/core`. See PROTOCOL.md at the repository root.
 */

export {
  type DecodeOptions,
  decodeClientFrame,
  decodeServerFrame,
  type EncodeOptions,
  encodeClientFrame,
  encodeServerFrame,
} from './codec.js';
// Everything of `@parley/protocol/core` (listed, not `export *`: core re-exports the frame types
// type-only, which would shadow the schema values exported below).
export { type CloseAction, CloseCode, closeAction, ERROR_CODES, ErrorCode } from './codes.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export {
  defineEvents,
  type EventInput,
  type EventName,
  type EventPayload,
  type EventSchemas,
  type EventValidation,
  type NoEvents,
  type StandardSchemaV1,
  validateEvent,
} from './events.js';
export { isJsonValue, type JsonValue, jsonDepth } from './json.js';
export { clientJsonSchema, serverJsonSchema } from './json-schema.js';
export { Limits } from './limits.js';
export * from './schemas.js';
export { byteLength, type RawData, rawToText, textLength } from './text.js';
export { PROTOCOL_VERSION, SUBPROTOCOL } from './version.js';
