/**
 * Generators for the differential test of the fast checker: valid hot client frames (with the
 * boundary lengths and values the schemas allow), and mutations of them that may or may not
 * stay valid — the test never assumes which, Zod decides.
 */
import fc from 'fast-check';
import { Limits } from '../src/index.js';

export const HOT_TYPES = ['send', 'typing', 'read', 'ping', 'pong'] as const;
export type HotType = (typeof HOT_TYPES)[number];
type Frame = Record<string, unknown>;

const { MAX_ID_LENGTH: MAX_ID, MAX_TEXT_LENGTH: MAX_TEXT, MAX_JSON_DEPTH } = Limits;

/** `n` levels of nested arrays around a number: JSON depth `n` (the root counts 0). */
export const nest = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
};

/** A piece of text: ASCII, 2- and 3-byte characters, surrogate pairs, lone surrogates. */
const piece = fc.constantFrom('a', 'é', '中', '😀', '\uD83D', '\uDE00', ' ', '"', '\\', '\u0000');

/**
 * About `target` code points: a short random head (any code points, lone surrogates included),
 * then surrogate pairs and ASCII up to the target — often all ASCII (units = code points) or all
 * pairs (units = 2 × code points), the two edges of a code-point limit. Joins may pair a lone
 * surrogate: Zod measures the result.
 */
const near = (target: fc.Arbitrary<number>) =>
  fc
    .tuple(fc.array(piece, { maxLength: 6 }), target, fc.oneof(fc.constantFrom(0, -1), fc.nat()))
    .map(([head, n, split]) => {
      const rest = Math.max(0, n - head.length);
      const pairs = split === -1 ? rest : split % (rest + 1);
      return head.join('') + '😀'.repeat(pairs) + 'a'.repeat(rest - pairs);
    });

const codePoints = (s: string) => [...s].length;

/** A valid id: 1–128 code points, often at the limit. */
export const validId = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
    near(fc.integer({ min: MAX_ID - 3, max: MAX_ID })),
  )
  .filter((s) => s.length > 0 && codePoints(s) <= MAX_ID);

/** A valid message text: at most 10,000 code points, often at the limit; empty is allowed. */
export const validText = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constant(''),
    near(fc.integer({ min: MAX_TEXT - 3, max: MAX_TEXT })),
  )
  .filter((s) => codePoints(s) <= MAX_TEXT);

/** Valid app JSON: small trees, and nesting right at the depth limit. */
export const validJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant(nest(MAX_JSON_DEPTH)),
  fc.constant({ ['__proto__']: { polluted: true } }),
);

const seq = fc.oneof(
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.constantFrom(1, Number.MAX_SAFE_INTEGER),
);

/** Unknown keys Zod strips (so a frame carrying them is still valid): none a hot frame has. */
const extraKeys = fc.dictionary(
  fc.constantFrom('__proto__', 'constructor', 'extra', 'senderId', 'sender', 'toString', 'id'),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 2 },
);

/** Defines keys as own data properties (`__proto__` included), as JSON.parse does. */
export function withKeys(base: Frame, extra: Frame): Frame {
  const out: Frame = { ...base };
  for (const key of Object.keys(extra)) {
    Object.defineProperty(out, key, {
      value: extra[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const strip = (f: Frame): Frame =>
  Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));

const valid: Record<HotType, fc.Arbitrary<Frame>> = {
  send: fc.record({
    type: fc.constant('send'),
    ref: optional(validId),
    conversationId: validId,
    clientMsgId: validId,
    text: validText,
    data: optional(validJson),
    replyTo: optional(seq),
  }),
  typing: fc.record({
    type: fc.constant('typing'),
    conversationId: validId,
    state: fc.constantFrom('start', 'stop'),
  }),
  read: fc.record({
    type: fc.constant('read'),
    ref: optional(validId),
    conversationId: validId,
    seq,
  }),
  ping: fc.record({ type: fc.constant('ping'), ref: optional(validId) }),
  pong: fc.record({ type: fc.constant('pong'), ref: optional(validId) }),
};

/** A valid frame of `type`, sometimes with unknown keys (which Zod strips). */
export const validFrame = (type: HotType): fc.Arbitrary<Frame> =>
  fc
    .tuple(valid[type], optional(extraKeys))
    .map(([frame, extra]) => withKeys(strip(frame), extra ?? {}));

const DELETE = Symbol('delete');

/** Values of the wrong type, out of range, at and over the boundaries, or not JSON at all. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, 0.1),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.integer(),
  fc.double(),
  fc.constantFrom('', ' ', 'start', 'stop', 'Start', '\uD800', '\uDC00', '😀', '1'),
  fc.constantFrom(...HOT_TYPES, 'hello', 'edit', 'event', 'history', 'SEND', '__proto__'),
  fc.string({ unit: 'binary', maxLength: 300 }),
  near(fc.integer({ min: MAX_ID - 2, max: MAX_ID + 2 })),
  near(fc.integer({ min: MAX_TEXT - 1, max: MAX_TEXT + 1 })),
  fc.constant('a'.repeat(2 * MAX_TEXT + 1)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom([], {}, ['a'], { a: 1 }, [validText], nest(MAX_JSON_DEPTH + 1)),
  fc.constantFrom(new Date(0), new Map(), Object.create(null) as object, () => 1, undefined),
  fc.constant(JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":{}}}') as unknown),
);

const mutation = fc.record({
  key: fc.constantFrom(
    'type',
    'ref',
    'conversationId',
    'clientMsgId',
    'text',
    'data',
    'replyTo',
    'state',
    'seq',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'extra',
  ),
  value: fc.oneof(weird, fc.constant(DELETE)),
});

/** A valid frame of `type` with 1–3 keys replaced, removed or added: valid or not, Zod decides. */
export const mutatedFrame = (type: HotType): fc.Arbitrary<Frame> =>
  fc.tuple(validFrame(type), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([f, ms]) => {
    let out = { ...f };
    for (const { key, value } of ms) {
      if (value === DELETE) delete out[key];
      else out = withKeys(out, { [key]: value });
    }
    return out;
  });
