/**
 * @packageDocumentation
 * Parley protocol v1. See PROTOCOL.md at the repository root for the prose specification.
 */

export {
  byteLength,
  type DecodeOptions,
  decodeClientFrame,
  decodeServerFrame,
  type EncodeOptions,
  encodeClientFrame,
  encodeServerFrame,
  ProtocolError,
  type ProtocolErrorCode,
  type RawData,
  rawToText,
} from './codec.js';
export { type CloseAction, CloseCode, closeAction, ERROR_CODES, ErrorCode } from './codes.js';
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
export { PROTOCOL_VERSION, SUBPROTOCOL } from './version.js';
