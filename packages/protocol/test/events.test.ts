import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defineEvents, validateEvent } from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string().min(1) }),
  async: z.string().refine(async (s) => s === 'ok'),
});

describe('custom events', () => {
  it('validates a payload with the app schema', async () => {
    await expect(validateEvent(events, 'call.offer', { sdp: 'v=0' })).resolves.toEqual({
      ok: true,
      value: { sdp: 'v=0' },
    });
  });

  it('names the failing payload field', async () => {
    const r = await validateEvent(events, 'call.offer', { sdp: 5 });
    expect(r).toMatchObject({ ok: false, code: 'invalid_frame', field: 'payload.sdp' });
  });

  it('reports unknown events as not_found, including prototype keys', async () => {
    for (const name of ['nope', 'constructor', '__proto__']) {
      expect(await validateEvent(events, name, {})).toMatchObject({ ok: false, code: 'not_found' });
    }
  });

  it('supports async schemas', async () => {
    expect((await validateEvent(events, 'async', 'ok')).ok).toBe(true);
    expect((await validateEvent(events, 'async', 'no')).ok).toBe(false);
  });

  it('rejects invalid event names at definition time', () => {
    expect(() => defineEvents({ 'bad name': z.string() })).toThrow(TypeError);
  });
});
