/**
 * Every frame of protocol v1, in both directions, as Zod (mini) schemas. Types are inferred from
 * these; `PROTOCOL.md` documents them with examples and `schema/*.json` is generated from them.
 */
export * from './schemas/base.js';
export * from './schemas/client.js';
export * from './schemas/server.js';
