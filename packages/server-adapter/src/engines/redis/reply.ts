/** Reading the engine's script replies (no imports: a leaf module). */

/** A bulk-string reply as text (ioredis gives strings, or Buffers from `*Buffer` calls). */
export const str = (v: unknown): string =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : String(v);
