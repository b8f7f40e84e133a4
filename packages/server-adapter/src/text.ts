/**
 * UTF-8 byte counts on the server: Node's and Bun's native `Buffer.byteLength` where there is one
 * (about 8× the portable loop of `@parley/protocol` on a 250-character message, which the memory
 * engine counts once per append), else the portable count. Both give the same number for every
 * string, lone surrogates included (3 bytes each, as U+FFFD): test/text.test.ts.
 */
import { byteLength } from '@parley/protocol';

const NodeBuffer = (
  globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }
).Buffer;

export const utf8Bytes: (text: string) => number =
  NodeBuffer === undefined ? byteLength : (text) => NodeBuffer.byteLength(text, 'utf8');
