import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  clientJsonSchema,
  decodeClientFrame,
  Limits,
  ProtocolError,
  serverJsonSchema,
} from '../src/index.js';
import { clientFrames, serverFrames } from './fixtures.js';

const committed = (name: string) =>
  JSON.parse(readFileSync(new URL(`../schema/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

describe('JSON Schema export', () => {
  // If this fails, the Zod schemas changed: run `pnpm schema` and commit packages/protocol/schema.
  it('committed client-frames.json matches the Zod schemas', () => {
    expect(committed('client-frames.json')).toEqual(clientJsonSchema());
  });

  it('committed server-frames.json matches the Zod schemas', () => {
    expect(committed('server-frames.json')).toEqual(serverJsonSchema());
  });

  it('has one branch per frame type, each pinning its type constant', () => {
    for (const [schema, frames] of [
      [clientJsonSchema(), clientFrames],
      [serverJsonSchema(), serverFrames],
    ] as const) {
      const branches = (schema.oneOf ?? schema.anyOf) as Array<{
        properties: { type: { const: string } };
      }>;
      expect(branches.map((b) => b.properties.type.const).sort()).toEqual(
        Object.keys(frames).sort(),
      );
    }
  });
});

describe('JSON Schema and the frame schemas refuse the same frames (issue 19)', () => {
  const ajv = new Ajv2020({ strict: false });
  const validClient = ajv.compile(clientJsonSchema());
  const validServer = ajv.compile(serverJsonSchema());
  /** What the codec says: 'ok', or the error code and field. */
  const codec = (frame: unknown): string => {
    try {
      decodeClientFrame(JSON.stringify(frame), { maxBytes: Number.POSITIVE_INFINITY });
      return 'ok';
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return `${err.code} ${err.field}`;
    }
  };

  it('every fixture frame is valid against the JSON Schema', () => {
    for (const f of Object.values(clientFrames)) expect(validClient(f), f.type).toBe(true);
    for (const f of Object.values(serverFrames)) expect(validServer(f), f.type).toBe(true);
  });

  it('event: exactly one of conversationId and userId', () => {
    const base = { type: 'event', ref: 'r1', name: 'call.offer', payload: {} };
    const cases = [
      [{ ...base, conversationId: 'c1' }, true],
      [{ ...base, userId: 'bob' }, true],
      [{ ...base, conversationId: 'c1', userId: 'bob' }, false],
      [base, false],
    ] as const;
    for (const [frame, ok] of cases) {
      expect(validClient(frame), JSON.stringify(frame)).toBe(ok);
      expect(codec(frame), JSON.stringify(frame)).toBe(ok ? 'ok' : 'invalid_frame conversationId');
    }
  });

  it(`hello: at most ${Limits.MAX_CURSORS} cursors`, () => {
    const hello = (n: number) => ({
      type: 'hello',
      protocol: 1,
      cursors: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, { seq: 0 }])),
    });
    expect(validClient(hello(Limits.MAX_CURSORS))).toBe(true);
    expect(codec(hello(Limits.MAX_CURSORS))).toBe('ok');
    expect(validClient(hello(Limits.MAX_CURSORS + 1))).toBe(false);
    expect(codec(hello(Limits.MAX_CURSORS + 1))).toBe('invalid_frame cursors');
  });

  it('ids count code points, like text: 128 astral characters are an id, 129 are not', () => {
    const send = (conversationId: string) => ({
      type: 'send',
      conversationId,
      clientMsgId: 'k1',
      text: 'hi',
    });
    const max = '😀'.repeat(Limits.MAX_ID_LENGTH); // 256 UTF-16 units
    expect(validClient(send(max))).toBe(true);
    expect(codec(send(max))).toBe('ok');
    expect(validClient(send(`${max}a`))).toBe(false);
    expect(codec(send(`${max}a`))).toBe('invalid_frame conversationId');
  });

  it('read: seq 0 is refused by both (a read position is a seq >= 1)', () => {
    const read = (seq: number) => ({ type: 'read', ref: 'r1', conversationId: 'c1', seq });
    expect(validClient(read(1))).toBe(true);
    expect(codec(read(1))).toBe('ok');
    expect(validClient(read(0))).toBe(false);
    expect(codec(read(0))).toBe('invalid_frame seq');
  });
});
