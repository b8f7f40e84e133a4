/**
 * @packageDocumentation
 * `@parley/protocol/core`: everything of the protocol that needs no schema library — codes,
 * limits, the version, text measures, the error class, custom-event validation (any Standard
 * Schema) and the frame types (type-only). Browser clients import this entry so that Zod stays
 * out of their bundle; servers and strict decoders import `@parley/protocol`.
 */
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
export { Limits } from './limits.js';
export type * from './schemas.js';
export { byteLength, type RawData, rawToText, textLength } from './text.js';
export { PROTOCOL_VERSION, SUBPROTOCOL } from './version.js';
