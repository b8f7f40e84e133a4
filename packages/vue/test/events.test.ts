// @vitest-environment happy-dom
import { defineEvents } from '@parley/client';
import { createTestHub, listenerCounts } from '@parley/testing';
import { mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { defineComponent, h, ref } from 'vue';
import { z } from 'zod';
import { createParley, useParleyEvent } from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string() }),
  'call.hangup': z.object({ reason: z.string() }),
});

const kit = createTestHub({ events, conversations: { c1: ['alice', 'bob'] } });
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => kit.reset());
afterAll(() => server.close());

const Calls = defineComponent({
  setup() {
    const log = ref<string[]>([]);
    useParleyEvent<typeof events, 'call.offer'>('call.offer', (e) => {
      log.value.push(`direct offer ${e.payload.sdp} from ${e.from}`);
    });
    useParleyEvent<typeof events, 'call.offer'>(
      'call.offer',
      (e) => {
        log.value.push(`room offer ${e.payload.sdp} in ${e.conversationId}`);
      },
      { conversationId: 'c1' },
    );
    return () =>
      h(
        'ul',
        log.value.map((line) => h('li', { key: line }, line)),
      );
  },
});

it('delivers typed custom events and releases the listeners on unmount', async () => {
  const alice = kit.client('alice');
  const bob = kit.client('bob');
  await kit.connected(alice);
  await kit.connected(bob);
  const baseline = listenerCounts(alice);
  const w = mount(Calls, { global: { plugins: [createParley(alice)] } });
  await bob.emit('call.hangup', { userId: 'alice' }, { reason: 'ignored by the filter' });
  await bob.emit('call.offer', { userId: 'alice' }, { sdp: 'v=0 a' });
  await bob.conversation('c1').emit('call.offer', { sdp: 'v=0 b' });
  await kit.waitFor(() => w.findAll('li').length === 2);
  expect(
    w
      .findAll('li')
      .map((li) => li.text())
      .sort(),
  ).toEqual(['direct offer v=0 a from bob', 'room offer v=0 b in c1']);
  w.unmount();
  expect(listenerCounts(alice)).toEqual(baseline);
});
