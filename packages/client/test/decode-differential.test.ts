// The client's structural decoder (src/decode.ts) is a lighter twin of the Zod codec. This test
// keeps the twins from drifting: every valid server frame is accepted identically, and a frame
// with a required field missing or of the wrong JSON type is rejected by both.
import { decodeServerFrame, ProtocolError, serverFrameSchemas } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { serverFrames } from '../../protocol/test/fixtures.js';
import { decodeFrame } from '../src/decode.js';

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

function rejects(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return true;
  }
}

describe.each(Object.entries(serverFrames))('client decoder vs codec: %s', (type, frame) => {
  const optional = optionalKeys(serverFrameSchemas[type as keyof typeof serverFrameSchemas]);
  const required = Object.keys(frame).filter(
    (k) => k !== 'type' && !optional.has(k) && k !== 'payload',
  );

  it('accepts the valid frame exactly like the codec', () => {
    const wire = JSON.stringify(frame);
    expect(decodeFrame(wire)).toEqual(decodeServerFrame(wire));
  });

  it.each(required.length ? required : ['(none)'])(
    'rejects a missing or mistyped %s like the codec',
    (key) => {
      if (key === '(none)') return;
      const missing: Record<string, unknown> = { ...frame };
      delete missing[key];
      expect(rejects(() => decodeServerFrame(JSON.stringify(missing)))).toBe(true);
      expect(rejects(() => decodeFrame(JSON.stringify(missing)))).toBe(true);
      const value = (frame as Record<string, unknown>)[key];
      const wrong = typeof value === 'string' ? 12345 : 'not-the-right-type';
      const mistyped = JSON.stringify({ ...frame, [key]: wrong });
      expect(rejects(() => decodeServerFrame(mistyped))).toBe(true);
      expect(rejects(() => decodeFrame(mistyped))).toBe(true);
    },
  );
});
