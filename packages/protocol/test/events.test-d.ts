import { describe, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import { defineEvents, type EventInput, type EventName, type EventPayload } from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string(), video: z.boolean() }),
  'call.ice': z.object({ candidate: z.string(), sdpMid: z.string().nullable() }),
  'call.ended': z
    .object({ reason: z.enum(['hangup', 'busy']) })
    .transform((v) => ({ ...v, at: 0 })),
});
type E = typeof events;

// A stand-in for the client's / hub's typed emit, to check inference at a call site.
declare function emit<K extends EventName<E>>(name: K, payload: EventInput<E, K>): void;
declare function on<K extends EventName<E>>(
  name: K,
  handler: (payload: EventPayload<E, K>) => void,
): void;

describe('custom event typing', () => {
  it('infers names and payloads from the app schemas', () => {
    expectTypeOf<EventName<E>>().toEqualTypeOf<'call.offer' | 'call.ice' | 'call.ended'>();
    expectTypeOf<EventInput<E, 'call.offer'>>().toEqualTypeOf<{ sdp: string; video: boolean }>();
    expectTypeOf<EventPayload<E, 'call.ended'>>().toEqualTypeOf<{
      reason: 'hangup' | 'busy';
      at: number;
    }>();
  });

  it('accepts the right payload and rejects a wrong one at compile time', () => {
    emit('call.offer', { sdp: 'v=0', video: true });
    emit('call.ice', { candidate: 'c', sdpMid: null });
    // @ts-expect-error sdp must be a string
    emit('call.offer', { sdp: 1, video: true });
    // @ts-expect-error video is required
    emit('call.offer', { sdp: 'v=0' });
    // @ts-expect-error unknown event name
    emit('call.unknown', {});
    on('call.ended', (p) => {
      expectTypeOf(p.at).toEqualTypeOf<number>();
    });
  });
});
