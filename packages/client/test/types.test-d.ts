import { defineEvents } from '@parley/protocol';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type ClientMessage,
  createClient,
  type StateChange,
  type StoredMessage,
  type Unsubscribe,
} from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string() }),
  'call.ice': z.object({ candidate: z.string(), at: z.string().transform((s) => new Date(s)) }),
});

describe('client types', () => {
  it('types custom events by the app schemas', () => {
    const client = createClient({ url: 'ws://x', events });
    expectTypeOf(client.emit).toBeCallableWith('call.offer', { userId: 'u' }, { sdp: 'v=0' });
    // @ts-expect-error unknown event
    client.emit('call.nope', { userId: 'u' }, {});
    // @ts-expect-error wrong payload
    client.conversation('c').emit('call.offer', { sdp: 1 });
    client.on('event', (e) => {
      if (e.name === 'call.ice') expectTypeOf(e.payload.at).toEqualTypeOf<Date>();
      if (e.name === 'call.offer') expectTypeOf(e.payload.sdp).toEqualTypeOf<string>();
    });
  });

  it('has no custom events by default', () => {
    const client = createClient({ url: 'ws://x' });
    // @ts-expect-error no events defined
    client.emit('anything', { userId: 'u' }, {});
  });

  it('returns unsubscribe functions and typed payloads', () => {
    const client = createClient({ url: 'ws://x' });
    expectTypeOf(
      client.on('state', (s) => expectTypeOf(s).toEqualTypeOf<StateChange>()),
    ).toEqualTypeOf<Unsubscribe>();
    const conv = client.conversation('c');
    expectTypeOf(conv.messages).toEqualTypeOf<readonly ClientMessage[]>();
    expectTypeOf(conv.send('hi')).toEqualTypeOf<Promise<StoredMessage>>();
    const m = conv.messages[0];
    if (m?.status === 'failed') expectTypeOf(m.retry).toEqualTypeOf<() => Promise<StoredMessage>>();
    if (m?.status === 'sent') expectTypeOf(m.seq).toEqualTypeOf<number>();
  });
});
