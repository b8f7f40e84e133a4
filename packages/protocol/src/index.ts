/**
 * @packageDocumentation
 * Parley protocol v1. See PROTOCOL.md at the repository root for the prose specification.
 */
export { PROTOCOL_VERSION, SUBPROTOCOL } from './version.js';
export { Limits } from './limits.js';
export { ErrorCode, ERROR_CODES, CloseCode, closeAction, type CloseAction } from './codes.js';
export { isJsonValue, jsonDepth, type JsonValue } from './json.js';
export * from './schemas.js';
export {
  ProtocolError,
  type ProtocolErrorCode,
  type RawData,
  type DecodeOptions,
  type EncodeOptions,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  byteLength,
} from './codec.js';
export {
  defineEvents,
  validateEvent,
  type EventSchemas,
  type EventName,
  type EventInput,
  type EventPayload,
  type EventValidation,
  type NoEvents,
  type StandardSchemaV1,
} from './events.js';
export { clientJsonSchema, serverJsonSchema } from './json-schema.js';
