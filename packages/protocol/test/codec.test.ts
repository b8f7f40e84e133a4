import { describe, expect, it } from 'vitest';
import {
  ClientFrame,
  clientFrameSchemas,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  Limits,
  ProtocolError,
  ServerFrame,
  serverFrameSchemas,
} from '../src/index.js';
import { clientFrames, serverFrames } from './fixtures.js';

function decodeError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

// Optional keys per frame type, from the schema itself (so new fields are covered automatically).
function optionalKeys(schema: unknown): Set<string> {
  const shape = (
    schema as { _zod: { def: { shape: Record<string, { _zod: { optin?: string } }> } } }
  )._zod.def.shape;
  return new Set(
    Object.entries(shape)
      .filter(([, s]) => s._zod.optin === 'optional')
      .map(([k]) => k),
  );
}

const directions = [
  {
    name: 'client',
    frames: clientFrames,
    schemas: clientFrameSchemas,
    decode: decodeClientFrame,
    encode: encodeClientFrame as (f: never) => string,
  },
  {
    name: 'server',
    frames: serverFrames,
    schemas: serverFrameSchemas,
    decode: decodeServerFrame,
    encode: encodeServerFrame as (f: never) => string,
  },
] as const;

describe.each(directions)('$name frames', ({ name, frames, schemas, decode, encode }) => {
  it('has a fixture for every frame type', () => {
    expect(Object.keys(frames).sort()).toEqual(Object.keys(schemas).sort());
  });

  describe.each(Object.entries(frames))('%s', (type, frame) => {
    const schema = schemas[type as keyof typeof schemas];
    const optional = optionalKeys(schema);

    it('round-trips through encode and decode', () => {
      const wire = encode(frame as never);
      expect(decode(wire)).toEqual(frame);
      // bytes work as well as strings (ws delivers Buffers)
      expect(decode(new TextEncoder().encode(wire))).toEqual(frame);
    });

    it('ignores unknown extra fields', () => {
      const decoded = decode(JSON.stringify({ ...frame, senderId: 'mallory', extra: 1 }));
      expect(decoded).toEqual(frame);
    });

    const required = Object.keys(frame).filter((k) => k !== 'type' && !optional.has(k));
    it.each(required.length ? required : ['(none)'])('rejects a missing %s, naming it', (key) => {
      if (key === '(none)') return;
      const broken: Record<string, unknown> = { ...frame };
      delete broken[key];
      const err = decodeError(() => decode(JSON.stringify(broken)));
      expect(err.code).toBe('invalid_frame');
      expect(err.field).toBe(key);
      expect(err.message).toContain(key);
      expect(err.frameType).toBe(type);
    });

    // `data`/`payload` accept any JSON value, so no JSON value has a wrong type for them.
    const typed = required.filter((k) => k !== 'payload' && k !== 'data');
    it.each(typed.length ? typed : ['(none)'])('rejects a wrong type for %s, naming it', (key) => {
      if (key === '(none)') return;
      const value = (frame as Record<string, unknown>)[key];
      const wrong =
        typeof value === 'number'
          ? 'not-a-number'
          : typeof value === 'string'
            ? 12345
            : 'not-an-object';
      const err = decodeError(() => decode(JSON.stringify({ ...frame, [key]: wrong })));
      expect(['invalid_frame', 'too_large']).toContain(err.code);
      expect(err.field.split('.')[0]).toBe(key);
      expect(err.message).toContain(key);
    });

    it('carries the ref of a broken frame so the error can be correlated', () => {
      if (!('ref' in frame)) return;
      const first = required.find((k) => k !== 'ref');
      if (first === undefined) return;
      const broken: Record<string, unknown> = { ...frame, ref: 'corr-1' };
      delete broken[first];
      expect(decodeError(() => decode(JSON.stringify(broken))).ref).toBe('corr-1');
    });

    it('rejects an extra-large frame as too_large before parsing', () => {
      const big = JSON.stringify({ ...frame, pad: 'x'.repeat(Limits.MAX_FRAME_BYTES) });
      if (name === 'client') {
        // What a server accepts is bounded by MAX_FRAME_BYTES by default.
        expect(decodeError(() => decode(big)).code).toBe('too_large');
        expect(decodeError(() => decode(new TextEncoder().encode(big))).code).toBe('too_large');
      } else {
        // Server frames (replays, history pages, welcomes) may be larger: no default bound.
        expect(decode(big).type).toBe(type);
      }
      expect(decodeError(() => decode(big, { maxBytes: 10 })).code).toBe('too_large');
      expect(decodeError(() => decode(new TextEncoder().encode(big), { maxBytes: 10 })).code).toBe(
        'too_large',
      );
    });
  });

  it('rejects an unknown type, naming the field', () => {
    const err = decodeError(() => decode('{"type":"teleport","ref":"r9"}'));
    expect(err.code).toBe('unknown_type');
    expect(err.field).toBe('type');
    expect(err.ref).toBe('r9');
    expect(err.message).toContain('teleport');
  });

  it('does not treat prototype keys as frame types', () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(decodeError(() => decode(JSON.stringify({ type }))).code).toBe('unknown_type');
    }
  });

  it.each([
    ['not JSON', '{type: hello', 'invalid_frame', ''],
    ['empty', '', 'invalid_frame', ''],
    ['a JSON array', '[1,2]', 'invalid_frame', ''],
    ['a JSON string', '"hello"', 'invalid_frame', ''],
    ['null', 'null', 'invalid_frame', ''],
    ['no type', '{"ref":"x"}', 'invalid_frame', 'type'],
    ['a numeric type', '{"type":7}', 'invalid_frame', 'type'],
  ])('rejects %s', (_name, raw, code, field) => {
    const err = decodeError(() => decode(raw));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
  });

  it('rejects frames built by code that do not match the schema on encode', () => {
    const [type, frame] = Object.entries(frames)[0]!;
    const broken = { ...frame, type } as Record<string, unknown>;
    for (const k of Object.keys(broken)) if (k !== 'type') broken[k] = Symbol('x');
    expect(() => encode(broken as never)).toThrow(ProtocolError);
  });
});

describe('field-level rules', () => {
  it('names nested fields with a dotted path', () => {
    const err = decodeError(() =>
      decodeClientFrame(
        JSON.stringify({ type: 'hello', protocol: 1, cursors: { c1: { seq: -1 } } }),
      ),
    );
    expect(err.field).toBe('cursors.c1.seq');
    expect(err.message).toMatch(/^hello\.cursors\.c1\.seq/);
  });

  it('rejects an unsupported protocol version in hello', () => {
    const err = decodeError(() => decodeClientFrame('{"type":"hello","protocol":2}'));
    expect(err.field).toBe('protocol');
  });

  it('reports an over-long text as too_large', () => {
    const err = decodeError(() =>
      decodeClientFrame(
        JSON.stringify({
          type: 'send',
          conversationId: 'c',
          clientMsgId: 'k',
          text: 'x'.repeat(Limits.MAX_TEXT_LENGTH + 1),
        }),
      ),
    );
    expect(err.code).toBe('too_large');
    expect(err.field).toBe('text');
  });

  it('rejects ids that are empty or too long', () => {
    for (const conversationId of ['', 'c'.repeat(Limits.MAX_ID_LENGTH + 1)]) {
      const err = decodeError(() =>
        decodeClientFrame(
          JSON.stringify({ type: 'send', conversationId, clientMsgId: 'k', text: 'x' }),
        ),
      );
      expect(err.field).toBe('conversationId');
    }
  });

  it('rejects deeply nested data without overflowing the stack', () => {
    const nested = (depth: number) =>
      `{"type":"send","conversationId":"c","clientMsgId":"k","text":"","data":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
    expect(decodeError(() => decodeClientFrame(nested(Limits.MAX_JSON_DEPTH + 2))).field).toBe(
      'data',
    );
    expect(decodeClientFrame(nested(Limits.MAX_JSON_DEPTH - 1)).type).toBe('send');
    // Far deeper than any parser's recursion: still a ProtocolError, never a RangeError.
    const err = decodeError(() => decodeClientFrame(nested(200_000), { maxBytes: 1_000_000 }));
    expect(err.code).toBe('invalid_frame');
  });

  it('requires exactly one target for a custom event', () => {
    const both = { type: 'event', name: 'x', conversationId: 'c', userId: 'u', payload: {} };
    const none = { type: 'event', name: 'x', payload: {} };
    expect(decodeError(() => decodeClientFrame(JSON.stringify(both))).field).toBe('conversationId');
    expect(decodeError(() => decodeClientFrame(JSON.stringify(none))).field).toBe('conversationId');
  });

  it('rejects event names outside the allowed alphabet', () => {
    const raw = JSON.stringify({ type: 'event', name: 'bad name!', userId: 'u', payload: {} });
    expect(decodeError(() => decodeClientFrame(raw)).field).toBe('name');
  });

  it('rejects non-integer seqs', () => {
    const raw = JSON.stringify({ type: 'read', conversationId: 'c', seq: 1.5 });
    expect(decodeError(() => decodeClientFrame(raw)).field).toBe('seq');
  });

  it('exports discriminated unions that accept every fixture', () => {
    for (const f of Object.values(clientFrames))
      expect(ClientFrame.safeParse(f).success).toBe(true);
    for (const f of Object.values(serverFrames))
      expect(ServerFrame.safeParse(f).success).toBe(true);
  });
});
