/**
 * Text measures shared by every end (zod-free: the client bundle imports them): the bytes a frame
 * costs on the wire, and the one unit text length is counted in — Unicode code points.
 */
import { frameTooLarge } from './errors.js';

/** Raw data as a WebSocket delivers it. */
export type RawData = string | ArrayBuffer | ArrayBufferView | readonly ArrayBufferView[];

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: false });

function concat(chunks: readonly ArrayBufferView[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  return out;
}

/**
 * The text of a WebSocket message (string, bytes, or ws's fragment list), refusing more than
 * `maxBytes` UTF-8 bytes with a `too_large` {@link ProtocolError}.
 */
export function rawToText(data: RawData, maxBytes: number = Number.POSITIVE_INFINITY): string {
  if (typeof data === 'string') {
    // A UTF-16 unit encodes to at most 3 UTF-8 bytes; only measure exactly when it matters.
    if (data.length > maxBytes || (data.length * 3 > maxBytes && byteLength(data) > maxBytes)) {
      throw frameTooLarge(maxBytes);
    }
    return data;
  }
  let bytes: ArrayBuffer | ArrayBufferView;
  if (Array.isArray(data)) bytes = concat(data as readonly ArrayBufferView[]);
  else bytes = data as ArrayBuffer | ArrayBufferView;
  if (bytes.byteLength > maxBytes) throw frameTooLarge(maxBytes);
  return decoder.decode(bytes);
}

/** UTF-8 byte length of a string (what a frame costs on the wire). */
export function byteLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if ((c & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 units, 4 bytes
      i++;
    } else n += 2; // 3 bytes (a lone surrogate is encoded as U+FFFD, also 3)
  }
  return n;
}

/**
 * Length of a text in the protocol's one unit: Unicode code points (a surrogate pair counts once,
 * a lone surrogate as itself). `Limits.MAX_TEXT_LENGTH`, the schema's `maxLength`, JSON Schema's
 * `maxLength`, Python's `len()` and Go's `utf8.RuneCountInString` all count the same way.
 */
export function textLength(text: string): number {
  const units = text.length;
  let count = units;
  for (let i = 0; i < units - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}
