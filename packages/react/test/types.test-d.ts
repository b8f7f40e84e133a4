import type { ConnectionState, InboxEntry, Presence, StoredMessage } from '@parley/client';
import { defineEvents } from '@parley/client';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type EventOf,
  useConnectionState,
  useConversation,
  useInbox,
  useParleyEvent,
  usePresence,
} from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string() }),
  'call.ice': z.object({ candidate: z.string(), index: z.number() }),
});

// How an app types every hook once.
declare module '../src/types.js' {
  interface Register {
    events: typeof events;
  }
}

describe('@parley/react types', () => {
  it('types custom events by the registered map', () => {
    useParleyEvent('call.ice', (e) => {
      expectTypeOf(e.name).toEqualTypeOf<'call.ice'>();
      expectTypeOf(e.payload).toEqualTypeOf<{ candidate: string; index: number }>();
      expectTypeOf(e.from).toEqualTypeOf<string>();
    });
    // @ts-expect-error: not a registered event
    useParleyEvent('call.unknown', () => {});
    expectTypeOf<EventOf<typeof events, 'call.offer'>['payload']>().toEqualTypeOf<{
      sdp: string;
    }>();
  });

  it('types the other hooks', () => {
    expectTypeOf(useConnectionState()).toEqualTypeOf<ConnectionState>();
    expectTypeOf(useInbox()).toEqualTypeOf<readonly InboxEntry[]>();
    expectTypeOf(usePresence('bob')).toEqualTypeOf<Presence | undefined>();
    const c = useConversation('c1');
    expectTypeOf(c.send).returns.toEqualTypeOf<Promise<StoredMessage>>();
    expectTypeOf(c.typingUsers).toEqualTypeOf<readonly string[]>();
    c.conversation?.emit('call.offer', { sdp: 'x' });
    // @ts-expect-error: payload checked against the schema
    c.conversation?.emit('call.offer', { sdp: 1 });
  });
});
