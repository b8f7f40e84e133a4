/**
 * UTF-8 on the server, through Node's and Bun's `Buffer` where the runtime has one, else the
 * portable way (the hub itself needs no Node API).
 */
import { byteLength } from '@parley/protocol';

const NodeBuffer = (
  globalThis as {
    Buffer?: {
      byteLength(text: string, encoding: 'utf8'): number;
      from(text: string, encoding: 'utf8'): Uint8Array;
    };
  }
).Buffer;

/**
 * UTF-8 bytes of a string: native `Buffer.byteLength` (about 8× the portable loop of
 * `@parley/protocol` on a 250-character message, which the memory engine counts once per append),
 * else the portable count. Both give the same number for every string, lone surrogates included
 * (3 bytes each, as U+FFFD): test/text.test.ts.
 */
export const utf8Bytes: (text: string) => number =
  NodeBuffer === undefined ? byteLength : (text) => NodeBuffer.byteLength(text, 'utf8');

const encoder = new TextEncoder();

/**
 * A string as UTF-8 bytes: `Buffer.from`, where small strings are encoded into a shared pool (no
 * ArrayBuffer per frame), and a Buffer is what `ws` sends as is — a plain Uint8Array is wrapped in
 * a new Buffer on every `send`, once per socket (issue 15). Elsewhere, TextEncoder.
 */
export const utf8Encode: (text: string) => Uint8Array =
  NodeBuffer === undefined
    ? (text) => encoder.encode(text)
    : (text) => NodeBuffer.from(text, 'utf8');
