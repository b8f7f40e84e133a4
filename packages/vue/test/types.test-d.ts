import type {
  ClientMessage,
  ConnectionState,
  InboxEntry,
  Presence,
  StoredMessage,
} from '@parley/client';
import { defineEvents } from '@parley/client';
import { describe, expectTypeOf, it } from 'vitest';
import type { Ref, ShallowRef } from 'vue';
import { z } from 'zod';
import {
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

// How an app types every composable once.
declare module '../src/types.js' {
  interface Register {
    events: typeof events;
  }
}

describe('@parley/vue types', () => {
  it('types custom events by the registered map', () => {
    useParleyEvent('call.ice', (e) => {
      expectTypeOf(e.name).toEqualTypeOf<'call.ice'>();
      expectTypeOf(e.payload).toEqualTypeOf<{ candidate: string; index: number }>();
    });
    // @ts-expect-error: not a registered event
    useParleyEvent('call.unknown', () => {});
  });

  it('returns refs', () => {
    expectTypeOf(useConnectionState()).toEqualTypeOf<Readonly<Ref<ConnectionState>>>();
    expectTypeOf(useInbox()).toEqualTypeOf<Readonly<ShallowRef<readonly InboxEntry[]>>>();
    expectTypeOf(usePresence('bob')).toEqualTypeOf<Readonly<ShallowRef<Presence | undefined>>>();
    const c = useConversation('c1');
    expectTypeOf(c.messages.value).toEqualTypeOf<readonly ClientMessage[]>();
    expectTypeOf(c.send).returns.toEqualTypeOf<Promise<StoredMessage>>();
    c.conversation.value.emit('call.offer', { sdp: 'x' });
    // @ts-expect-error: payload checked against the schema
    c.conversation.value.emit('call.offer', { sdp: 1 });
  });
});
