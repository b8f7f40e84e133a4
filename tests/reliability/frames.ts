/**
 * fast-check arbitraries of hostile frames, in both directions: malformed, truncated, oversized,
 * deeply nested, wrong-typed, unknown-typed, binary, and valid-but-hostile (unicode/control ids,
 * huge and negative numbers, prototype-pollution keys), plus a mutator over valid frames.
 */
import fc from 'fast-check';

/** Strings an attacker would try as ids, names, texts and tokens. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'room',
      'secret',
      'nope',
      'dave',
      'bob',
      'fuzz',
      '__proto__',
      'constructor',
      'prototype',
      'hasOwnProperty',
      'toString',
      '\u0000',
      '\u0000room',
      'room\u0000',
      '\u202eroom',
      '\ud800',
      '\udfff\ud800',
      '\uffff',
      '🔥'.repeat(70),
      'a'.repeat(128),
      'a'.repeat(129),
      'x'.repeat(10_001),
      '../../etc/passwd',
      '<script>alert(1)</script>',
      '$' + '{process.exit()}',
      '%s%s%s%n',
      'call.offer',
      'call.hangup',
    ),
  },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(), // NaN / ±Infinity serialise to null
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    1.5,
    -1e-300,
    1e308,
    -1e308,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_SAFE_INTEGER,
    5e-324,
  ),
);

/** Arbitrary JSON values, including hostile keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor')),
      tie('value'),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

/** Nested arrays/objects of the given depth. */
export function nested(depth: number, leaf: unknown = 1, obj = false): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = obj ? { a: v } : [v];
  return v;
}

const conv = fc.oneof(
  { weight: 6, arbitrary: fc.constant('room') },
  { weight: 2, arbitrary: fc.constantFrom('secret', 'nope', 'other') },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileJson },
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const ref = maybe(fc.oneof(hostileString, hostileNumber as fc.Arbitrary<unknown>));
const spoof = fc.record(
  {
    senderId: fc.constantFrom('bob', 'carol', 'system'),
    from: fc.constantFrom('bob', 'carol', 'system'),
    userId: fc.constantFrom('bob', 'carol', 'dave'),
    sender: fc.constant({ name: 'BOB' }),
    kind: fc.constantFrom('system', 'user'),
  },
  { requiredKeys: [] },
);

/** Client frames that are well-formed JSON objects with plausible-to-hostile field values. */
export const clientFrameObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc
    .record({
      type: fc.constant('send'),
      ref,
      conversationId: conv,
      clientMsgId: fc.oneof(fc.uuid(), hostileString),
      text: fc.oneof(hostileString, fc.string({ maxLength: 200 })),
      data: maybe(
        fc.oneof(
          hostileJson,
          fc.integer({ min: 30, max: 40 }).map((d) => nested(d)),
        ),
      ),
    })
    .chain((f) => spoof.map((s) => ({ ...f, ...s }))),
  fc
    .record({
      type: fc.constant('typing'),
      conversationId: conv,
      state: fc.oneof(fc.constantFrom('start', 'stop'), hostileString),
    })
    .chain((f) => spoof.map((s) => ({ ...f, ...s }))),
  fc
    .record({ type: fc.constant('read'), ref, conversationId: conv, seq: hostileNumber })
    .chain((f) => spoof.map((s) => ({ ...f, ...s }))),
  fc.record({
    type: fc.constant('sync'),
    ref,
    conversationId: conv,
    after: hostileNumber,
    epoch: maybe(hostileString),
  }),
  fc.record({
    type: fc.constant('history'),
    ref,
    conversationId: conv,
    before: maybe(hostileNumber),
    limit: maybe(hostileNumber),
  }),
  fc
    .record({
      type: fc.constant('event'),
      ref,
      name: fc.oneof(fc.constantFrom('call.offer', 'call.hangup'), hostileString),
      conversationId: maybe(conv),
      userId: maybe(
        fc.oneof(fc.constantFrom('bob', 'carol', 'dave', 'nobody', 'fuzz'), hostileString),
      ),
      payload: fc.oneof(
        fc.record({ sdp: hostileString }),
        fc.record({ reason: hostileString }),
        hostileJson,
        fc.integer({ min: 30, max: 40 }).map((d) => nested(d, 'x', true)),
      ),
    })
    .chain((f) => spoof.map((s) => ({ ...f, from: s.from ?? f.userId }))),
  fc.record({
    type: fc.constant('auth'),
    ref,
    token: fc.oneof(hostileString, fc.constant('fuzz')),
  }),
  fc.record({ type: fc.constantFrom('ping', 'pong'), ref }),
  fc.record({
    type: fc.oneof(
      fc.constantFrom(
        'message',
        'ack',
        'welcome',
        'error',
        'Send',
        'SEND',
        'send ',
        '',
        '__proto__',
      ),
      hostileString,
    ),
    ref,
    conversationId: maybe(conv),
  }),
  fc.record({ type: hostileJson, conversationId: conv }),
);

/** Hand-written prototype-pollution frames (a JS object literal cannot carry an own `__proto__`). */
export const protoFrames: fc.Arbitrary<string> = fc.constantFrom(
  '{"type":"send","conversationId":"room","clientMsgId":"pp1","text":"x","__proto__":{"polluted":1}}',
  '{"__proto__":{"type":"send"},"conversationId":"room","clientMsgId":"pp2","text":"x"}',
  '{"type":"send","conversationId":"room","clientMsgId":"pp3","text":"x","data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
  '{"type":"event","name":"call.offer","conversationId":"room","payload":{"sdp":"s","__proto__":{"polluted":1}}}',
  '{"type":"event","name":"__proto__","conversationId":"room","payload":{}}',
  '{"type":"event","name":"constructor","userId":"bob","payload":{}}',
  '{"type":"event","name":"toString","userId":"bob","payload":{}}',
  '{"type":"read","conversationId":"__proto__","seq":1}',
  '{"type":"history","conversationId":"constructor","limit":1}',
  '{"type":"sync","conversationId":"hasOwnProperty","after":0}',
  '{"type":"constructor"}',
  '{"type":"__proto__"}',
  '{"type":"send","type":"hello","protocol":1}',
  '{"type":"typing","conversationId":"room","state":"start","constructor":{"name":"x"}}',
);

/** Byte/char-level mutations of a valid frame. */
export const mutate = (valid: fc.Arbitrary<string>): fc.Arbitrary<string | Buffer> =>
  fc
    .tuple(
      valid,
      fc.constantFrom(
        'truncate',
        'flip',
        'insert',
        'delete',
        'duplicate',
        'wrap',
        'binary',
        'quote',
        'nul',
      ),
      fc.nat(),
      fc.integer({ min: 0, max: 0x10ffff }),
    )
    .map(([s, op, n, cp]) => {
      const i = s.length === 0 ? 0 : n % s.length;
      switch (op) {
        case 'truncate':
          return s.slice(0, i);
        case 'flip':
          return (
            s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << (n % 7))) + s.slice(i + 1)
          );
        case 'insert': {
          const ch = cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : String.fromCodePoint(cp);
          return s.slice(0, i) + ch + s.slice(i);
        }
        case 'delete':
          return s.slice(0, i) + s.slice(i + 1 + (n % 5));
        case 'duplicate':
          return s + s;
        case 'wrap':
          return `[${s}]`;
        case 'binary':
          return Buffer.from(s, 'utf8');
        case 'quote':
          return JSON.stringify(s);
        default:
          return s.slice(0, i) + '\u0000' + s.slice(i);
      }
    });

/** Every kind of hostile client frame, as wire data (text, or a Buffer for a binary frame). */
export function hostileClientFrame(): fc.Arbitrary<string | Buffer> {
  const objects = clientFrameObject.map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 40, arbitrary: objects },
    { weight: 25, arbitrary: mutate(objects) },
    { weight: 5, arbitrary: protoFrames },
    { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '',
        'null',
        '[]',
        '{}',
        '1',
        '"send"',
        'true',
        '{"type":null}',
        '{"type":1}',
        '{"type":["send"]}',
        '{"type":{"$ne":1}}',
        '{"type":"send"}',
        // An INVALID second hello is bad input like any other (error frame); only a valid one closes.
        '{"type":"hello"}',
        '{"type":"ping","ref":"' + 'r'.repeat(200) + '"}',
        '\ufeff{"type":"ping"}',
        '{"type":"ping"} trailing',
        '{"type":"ping",}',
      ),
    },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    {
      weight: 3,
      // Built as text: JSON.stringify itself overflows the stack on such depths.
      arbitrary: fc
        .tuple(fc.integer({ min: 33, max: 10_000 }), fc.boolean())
        .map(
          ([d, obj]) =>
            `{"type":"send","conversationId":"room","clientMsgId":"deep${d}","text":"x","data":${
              obj ? '{"a":'.repeat(d) + '1' + '}'.repeat(d) : '['.repeat(d) + ']'.repeat(d)
            }}`,
        ),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1_000, max: 30_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
    },
    {
      // Near and past the frame limit: text over 10,000 chars, payloads near 64 KiB.
      weight: 2,
      arbitrary: fc.integer({ min: 10_001, max: 30_000 }).map((n) =>
        JSON.stringify({
          type: 'send',
          conversationId: 'room',
          clientMsgId: `big${n}`,
          text: 'y'.repeat(n),
        }),
      ),
    },
  );
}

/** Frames after which the hub closes the socket (sent once in a while, on their own). */
export function closingClientFrame(maxFrameBytes: number): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    fc
      .integer({ min: maxFrameBytes + 1, max: maxFrameBytes + 4096 })
      .map((n) => JSON.stringify({ type: 'ping', ref: 'z'.repeat(n) })),
    fc
      .integer({ min: maxFrameBytes + 1, max: maxFrameBytes + 4096 })
      .map((n) => Buffer.alloc(n, 0x7b)),
    fc.constantFrom(
      '{"type":"hello","protocol":1,"token":"bob"}',
      '{"type":"hello","protocol":1,"token":"fuzz","cursors":{"room":{"seq":0}}}',
    ),
  );
}

/** First frames of a fresh connection (before `hello`). */
export const firstFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc
    .record({
      type: fc.constant('hello'),
      protocol: fc.oneof(fc.constant(1), hostileNumber),
      token: fc.oneof(fc.constantFrom('fuzz', 'nobody', ''), hostileString),
      cursors: maybe(
        fc.dictionary(
          fc.oneof(fc.constantFrom('room', 'secret', '__proto__'), hostileString),
          fc.oneof(fc.record({ seq: hostileNumber, epoch: maybe(hostileString) }), hostileJson),
          { maxKeys: 20 },
        ),
      ),
      client: maybe(hostileJson),
    })
    .map((o) => JSON.stringify(o)),
  clientFrameObject.map((o) => JSON.stringify(o)),
  mutate(fc.constant('{"type":"hello","protocol":1,"token":"fuzz"}')),
  fc.string({ unit: 'binary', maxLength: 100 }),
);
