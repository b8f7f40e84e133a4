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
export * from './core.js';
export { clientJsonSchema, serverJsonSchema } from './json-schema.js';
export * from './schemas.js';
