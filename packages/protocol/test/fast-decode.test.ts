/**
 * Differential test: the hand-written checker of the hot client frames never accepts what the Zod
 * schema rejects, returns exactly what Zod returns when it accepts (same keys, same order, `data`
 * by reference), and accepts every valid frame (so the hub actually takes the fast path).
 * Fixed seed (FC_SEED overrides it); fast-check prints the seed and path of a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastClientFrame } from '../src/fast-decode.js';
import { clientFrameSchemas, decodeClientFrame, Limits, ProtocolError } from '../src/index.js';
import { HOT_TYPES, mutatedFrame, nest, validFrame, withKeys } from './fast-decode.arbitraries.js';

const seed = Number(process.env.FC_SEED ?? 15);
const numRuns = Number(process.env.FC_RUNS ?? 2500);
const params = { seed, numRuns };

type Frame = Record<string, unknown>;

type ZodResult = { success: true; data: Frame } | { success: false };

/** What the codec's Zod path makes of a parsed frame. */
function zod(x: Frame): ZodResult {
  const type = x.type as keyof typeof clientFrameSchemas;
  if (!Object.hasOwn(clientFrameSchemas, type)) return { success: false };
  const r = clientFrameSchemas[type].safeParse(x);
  return r.success ? { success: true, data: r.data as Frame } : { success: false };
}

/** fast(x) === undefined, or Zod accepts x and returns the same value. True when fast accepted. */
function agree(x: Frame): boolean {
  const fast = fastClientFrame(x);
  if (fast === undefined) return false;
  const z = zod(x);
  expect(z.success, 'fast accepted a frame Zod rejects').toBe(true);
  if (!z.success) return false;
  expect(fast).toStrictEqual(z.data);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(z.data)); // same key order
  if ('data' in fast) expect(fast.data).toBe(z.data.data);
  return true;
}

/** The frame as the hub sees it: through JSON (`__proto__` an own key, NaN turned into null). */
function viaJson(x: Frame): Frame | undefined {
  const text = JSON.stringify(x);
  return text === undefined ? undefined : (JSON.parse(text) as Frame);
}

describe.each(HOT_TYPES)('fast checker: %s', (type) => {
  it('accepts every valid frame, with the value Zod returns', () => {
    fc.assert(
      fc.property(validFrame(type), (x) => {
        expect(zod(x).success, 'the generator made an invalid frame').toBe(true);
        expect(agree(x), 'fast path not taken').toBe(true);
        const y = viaJson(x)!;
        expect(agree(y), 'fast path not taken after JSON').toBe(true);
      }),
      params,
    );
  });

  it('never accepts what Zod rejects, nor returns anything else, on mutated frames', () => {
    let accepted = 0;
    fc.assert(
      fc.property(mutatedFrame(type), (x) => {
        if (agree(x)) accepted++;
        const y = viaJson(x);
        if (y !== undefined) agree(y);
      }),
      params,
    );
    // Some mutations keep a frame valid (an unknown key, a deleted optional): still the fast path.
    expect(accepted).toBeGreaterThan(0);
  });

  it('decodeClientFrame returns what Zod returns, or throws, on mutated frames as text', () => {
    fc.assert(
      fc.property(mutatedFrame(type), (x) => {
        const text = JSON.stringify(x);
        const z = zod(JSON.parse(text) as Frame);
        let decoded: unknown;
        try {
          decoded = decodeClientFrame(text, { maxBytes: Number.POSITIVE_INFINITY });
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          expect(z.success).toBe(false);
          return;
        }
        expect(z.success).toBe(true);
        if (!z.success) return;
        // Two parses of one text: equal, but not the same `data` (toStrictEqual would compare
        // the `constructor` an own key of `data` may carry).
        expect(decoded).toEqual(z.data);
        expect(JSON.stringify(decoded)).toBe(JSON.stringify(z.data));
      }),
      { seed, numRuns: Math.ceil(numRuns / 2) },
    );
  });
});

describe('fast checker: fixed cases', () => {
  const send = { type: 'send', conversationId: 'c1', clientMsgId: 'k1', text: 'hi' };

  it.each([
    ['a lone high surrogate id at the limit', { conversationId: '\uD800'.repeat(128) }],
    ['pairs at the id limit', { clientMsgId: '😀'.repeat(Limits.MAX_ID_LENGTH) }],
    ['pairs at the text limit', { text: '😀'.repeat(Limits.MAX_TEXT_LENGTH) }],
    ['data at the depth limit', { data: nest(Limits.MAX_JSON_DEPTH) }],
    ['the largest safe replyTo', { replyTo: Number.MAX_SAFE_INTEGER }],
  ])('accepts %s', (_, patch) => {
    expect(agree({ ...send, ...patch })).toBe(true);
  });

  it.each([
    ['an empty id', { conversationId: '' }],
    ['an id one code point too long', { conversationId: `${'😀'.repeat(128)}a` }],
    ['an ASCII id one character too long', { clientMsgId: 'a'.repeat(129) }],
    ['ASCII text one character too long', { text: 'a'.repeat(Limits.MAX_TEXT_LENGTH + 1) }],
    ['text one code point too long', { text: `${'😀'.repeat(Limits.MAX_TEXT_LENGTH)}a` }],
    ['data one level too deep', { data: nest(Limits.MAX_JSON_DEPTH + 1) }],
    ['an unsafe replyTo', { replyTo: 2 ** 53 }],
    ['replyTo 0', { replyTo: 0 }],
    ['replyTo null', { replyTo: null }],
    ['a fractional replyTo', { replyTo: 1.5 }],
    ['ref null', { ref: null }],
    ['text as an array', { text: ['hi'] }],
    ['data that is not JSON', { data: new Date(0) }],
  ])('leaves %s to Zod (which rejects it)', (_, patch) => {
    const x = { ...send, ...patch };
    expect(fastClientFrame(x)).toBeUndefined();
    expect(zod(x).success).toBe(false);
  });

  it('strips unknown keys and __proto__ like Zod, keeping the prototype', () => {
    const x = JSON.parse(
      '{"type":"typing","__proto__":{"state":"start"},"conversationId":"c1","state":"stop","ref":"r"}',
    ) as Frame;
    const fast = fastClientFrame(x);
    expect(fast).toEqual({ type: 'typing', conversationId: 'c1', state: 'stop' });
    expect(Object.getPrototypeOf(fast)).toBe(Object.prototype);
    expect(agree(x)).toBe(true);
    expect(agree(withKeys({ type: 'ping' }, { __proto__: { ref: 1 } }))).toBe(true);
  });

  it('knows every key of the hot schemas (a new optional key would otherwise be stripped)', () => {
    const keys = Object.fromEntries(
      HOT_TYPES.map((t) => [t, Object.keys(clientFrameSchemas[t].def.shape)]),
    );
    expect(keys).toEqual({
      send: ['type', 'ref', 'conversationId', 'clientMsgId', 'text', 'data', 'replyTo'],
      typing: ['type', 'conversationId', 'state'],
      read: ['type', 'ref', 'conversationId', 'seq'],
      ping: ['type', 'ref'],
      pong: ['type', 'ref'],
    });
  });

  it('leaves other frame types to Zod', () => {
    expect(fastClientFrame({ type: 'hello', protocol: 1 })).toBeUndefined();
    expect(fastClientFrame({ type: 'toString' })).toBeUndefined();
    expect(fastClientFrame({})).toBeUndefined();
  });
});
