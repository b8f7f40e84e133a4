/**
 * One unit for text length — Unicode code points — in `textLength`, the Zod schema (which the hub
 * decodes with) and the JSON Schema (which other languages validate with).
 */
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  byteLength,
  clientJsonSchema,
  decodeClientFrame,
  decodeServerFrame,
  Limits,
  ProtocolError,
  serverJsonSchema,
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

  it('a JSON Schema validator (ajv) and the frame schema agree on every text near the limit, both directions', () => {
    const ajv = new Ajv2020({ strict: false });
    const validClient = ajv.compile(clientJsonSchema());
    const validServer = ajv.compile(serverJsonSchema());
    const message = (text: string) => ({
      type: 'message',
      message: {
        id: 'x',
        conversationId: 'c1',
        seq: 1,
        clientMsgId: 'm1',
        senderId: 'alice',
        kind: 'user',
        text,
        createdAt: 1,
      },
    });
    const serverAccepts = (text: string): boolean => {
      try {
        decodeServerFrame(JSON.stringify(message(text)), { maxBytes: Number.POSITIVE_INFINITY });
        return true;
      } catch (err) {
        if (err instanceof ProtocolError && err.field === 'message.text') return false;
        throw err;
      }
    };
    // ASCII, 2-byte, astral (a surrogate pair) and lone surrogates, about MAX code points in all.
    const near = fc
      .record({
        ascii: fc.nat(Limits.MAX_TEXT_LENGTH + 5),
        accented: fc.nat(20),
        astral: fc.nat(Limits.MAX_TEXT_LENGTH),
        lone: fc.nat(10),
      })
      .map(({ ascii, accented, astral, lone }) => {
        const budget = Limits.MAX_TEXT_LENGTH + 3;
        const a = Math.min(ascii, budget);
        const s = Math.min(astral, budget - a);
        const e = Math.min(accented, budget - a - s);
        const l = Math.max(0, budget - a - s - e - 4 + (lone % 8));
        return `${'a'.repeat(a)}${'é'.repeat(e)}${'😀'.repeat(s)}${'\uD83D!'.repeat(Math.floor(l / 2))}`;
      });
    fc.assert(
      fc.property(near, (text) => {
        const within = textLength(text) <= Limits.MAX_TEXT_LENGTH;
        expect(validClient(JSON.parse(send(text)))).toBe(within);
        expect(accepts(text)).toBe(within);
        expect(validServer(message(text))).toBe(within);
        expect(serverAccepts(text)).toBe(within);
      }),
      { seed: 13, numRuns: 200 },
    );
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
