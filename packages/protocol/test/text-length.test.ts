/**
 * One unit for text length — Unicode code points — in `textLength`, the Zod schema (which the hub
 * decodes with) and the JSON Schema (which other languages validate with).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  byteLength,
  clientJsonSchema,
  decodeClientFrame,
  Limits,
  ProtocolError,
  textLength,
} from '../src/index.js';

const send = (text: string) =>
  JSON.stringify({ type: 'send', conversationId: 'c1', clientMsgId: 'm1', text });

const accepts = (text: string): boolean => {
  try {
    decodeClientFrame(send(text), { maxBytes: Number.POSITIVE_INFINITY });
    return true;
  } catch (err) {
    if (err instanceof ProtocolError && err.code === 'too_large' && err.field === 'text')
      return false;
    throw err;
  }
};

describe('text length', () => {
  it('counts code points: a surrogate pair once, a lone surrogate as itself', () => {
    expect(textLength('abc')).toBe(3);
    expect(textLength('😀')).toBe(1);
    expect(textLength('a😀b')).toBe(3);
    expect(textLength('\uD83D')).toBe(1);
    expect(textLength('\uDE00\uD83D')).toBe(2);
    expect(textLength('e\u0301')).toBe(2); // a combining mark is its own code point
  });

  it('matches the string iterator on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(textLength(s)).toBe([...s].length);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('the frame schema uses the same unit at the limit', () => {
    const max = Limits.MAX_TEXT_LENGTH;
    expect(accepts('😀'.repeat(max))).toBe(true); // 2 × max UTF-16 units, max code points
    expect(accepts('😀'.repeat(max + 1))).toBe(false);
    expect(accepts('a'.repeat(max))).toBe(true);
    expect(accepts(`${'a'.repeat(max)}b`)).toBe(false);
  });

  it('the JSON Schema states the same limit as maxLength (which counts code points)', () => {
    const schema = clientJsonSchema() as {
      oneOf: Array<{ properties: { type: { const: string }; text?: { maxLength?: number } } }>;
    };
    const sendBranch = schema.oneOf.find((b) => b.properties.type.const === 'send');
    expect(sendBranch?.properties.text?.maxLength).toBe(Limits.MAX_TEXT_LENGTH);
  });

  it('byteLength equals the UTF-8 encoding length, lone surrogates included', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(byteLength(s)).toBe(enc.encode(s).byteLength);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
