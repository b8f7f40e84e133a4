// @vitest-environment happy-dom
/**
 * What `useConversation` does when the history the client held is gone (a `reset`) or the user
 * leaves and rejoins: the newest messages are paged back in, the app is told (`lastReset`), and
 * the composable keeps the same live handle.
 */
import { createTestHub } from '@parley/testing';
import { mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createParley, useConversation } from '../src/index.js';

// The hub replays at most 2 messages: a client 3 behind gets a `reset` (trimmed).
const kit = createTestHub({
  conversations: { c1: ['alice', 'bob'] },
  hub: { limits: { maxReplay: 2 } },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => kit.reset());
afterAll(() => server.close());

const Chat = defineComponent({
  setup() {
    const { messages, lastReset, joined, unreadCount } = useConversation('c1');
    return () =>
      h('section', [
        lastReset.value
          ? h('p', { role: 'alert' }, `earlier messages were reloaded (${lastReset.value.reason})`)
          : null,
        h('p', { 'data-testid': 'joined' }, String(joined.value)),
        h('p', { 'data-testid': 'unread' }, String(unreadCount.value)),
        h(
          'ul',
          messages.value.map((m) => h('li', { key: m.clientMsgId }, m.text)),
        ),
      ]);
  },
});
const Two = defineComponent({ setup: () => () => h('div', [h(Chat), h(Chat)]) });
const Member = defineComponent({
  setup() {
    const { messages, joined } = useConversation('c1');
    return () =>
      h('section', [
        h('p', { 'data-testid': 'joined' }, String(joined.value)),
        h(
          'ul',
          messages.value.map((m) => h('li', { key: m.clientMsgId }, m.text)),
        ),
      ]);
  },
});

describe('useConversation after a reset', () => {
  it('pages the newest messages back in, once, and tells the app', async () => {
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await Promise.all([kit.connected(alice), kit.connected(bob)]);
    const w = mount(Two, { global: { plugins: [createParley(alice)] } });
    const texts = () => w.findAll('li').map((li) => li.text());
    await bob.conversation('c1').send('b0');
    await kit.waitFor(() => texts().length === 2);
    alice.conversation('c1').markRead();
    kit.goOffline('alice');
    for (const t of ['b1', 'b2', 'b3']) await bob.conversation('c1').send(t);
    kit.goOnline('alice');
    await kit.waitFor(() => w.find('[role=alert]').exists());
    expect(w.get('[role=alert]').text()).toContain('trimmed');
    await kit.waitFor(() => texts().length === 8);
    expect(texts()).toEqual(['b0', 'b1', 'b2', 'b3', 'b0', 'b1', 'b2', 'b3']);
    expect(w.get('[data-testid=unread]').text()).toBe('3');
    // Two composables, one page request.
    expect(
      kit.frames.filter((f) => f.direction === 'in' && f.frame.type === 'history'),
    ).toHaveLength(1);
    w.unmount();
  });
});

describe('useConversation across leave and rejoin', () => {
  it('keeps the live handle: messages after the rejoin show', async () => {
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await Promise.all([kit.connected(alice), kit.connected(bob)]);
    const w = mount(Member, { global: { plugins: [createParley(alice)] } });
    const joined = () => w.get('[data-testid=joined]').text();
    await kit.waitFor(() => joined() === 'true');
    await kit.hub.leave('c1', ['alice']);
    await kit.waitFor(() => joined() === 'false');
    await kit.hub.join('c1', ['alice']);
    await kit.waitFor(() => joined() === 'true');
    await bob.conversation('c1').send('after the rejoin');
    await kit.waitFor(() => w.text().includes('after the rejoin'));
    w.unmount();
  });
});
