// @vitest-environment happy-dom
/**
 * Issue 16 through `useConversation`: the shown conversation is opened (its newest page loads on
 * a fresh client), `meta` comes from the hub, and `edit`, `delete`, `react` and
 * `send({ replyTo })` change what renders.
 */
import { createTestHub } from '@parley/testing';
import { mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createParley, type UseConversationReturn, useConversation } from '../src/index.js';

const kit = createTestHub({
  conversations: { c1: ['alice', 'bob'] },
  hub: {
    conversationMeta: async (ids) =>
      Object.fromEntries(ids.map((id) => [id, { title: `T-${id}` }])),
  },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => kit.reset());
afterAll(() => server.close());

let api: UseConversationReturn | undefined;
const Chat = defineComponent({
  setup() {
    const result = useConversation('c1');
    api = result;
    return () =>
      h('section', [
        h('h1', result.meta.value?.title ?? ''),
        h(
          'ul',
          result.messages.value.map((m) =>
            h(
              'li',
              { key: m.clientMsgId },
              (m.status === 'sent' && m.deleted ? '(deleted)' : m.text) +
                (m.status === 'sent' && m.reactions ? ` ${Object.keys(m.reactions).join('')}` : ''),
            ),
          ),
        ),
      ]);
  },
});

describe('useConversation and the message lifecycle (issue 16)', () => {
  it('loads the newest page, shows meta, and applies edit, delete and react', async () => {
    const bob = kit.client('bob');
    await kit.connected(bob);
    await bob.conversation('c1').send('one');
    const alice = kit.client('alice');
    await kit.connected(alice);
    const w = mount(Chat, { global: { plugins: [createParley(alice)] } });
    const texts = () => w.findAll('li').map((li) => li.text());
    await kit.waitFor(() => texts().join('|') === 'one');
    expect(w.get('h1').text()).toBe('T-c1');
    const mine = await api!.send('mine', { replyTo: 1 });
    expect(mine.replyTo).toBe(1);
    await api!.edit(mine.seq, 'mine!');
    await api!.react(1, '🎉');
    await kit.waitFor(() => texts().join('|') === 'one 🎉|mine!');
    await api!.delete(mine.seq);
    await kit.waitFor(() => texts().join('|') === 'one 🎉|(deleted)');
    await expect(api!.delete(1)).rejects.toMatchObject({ code: 'forbidden' });
    expect(texts()).toEqual(['one 🎉', '(deleted)']);
    w.unmount();
  });
});
