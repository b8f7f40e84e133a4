// @vitest-environment happy-dom
/**
 * Issue 16 through `useConversation`: the shown conversation is opened (its newest page loads on
 * a fresh client), and `edit`, `delete`, `react` and `send({ replyTo })` change what renders;
 * `meta` comes from the hub.
 */
import { createTestHub } from '@parley/testing';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyProvider, type UseConversationResult, useConversation } from '../src/index.js';

const kit = createTestHub({
  conversations: { c1: ['alice', 'bob'] },
  hub: {
    conversationMeta: async (ids) =>
      Object.fromEntries(ids.map((id) => [id, { title: `T-${id}` }])),
  },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(async () => {
  cleanup();
  await kit.reset();
});
afterAll(() => server.close());

let api: UseConversationResult | undefined;
function Chat() {
  const result = useConversation('c1');
  api = result;
  return (
    <section>
      <h1>{result.meta?.title}</h1>
      <ul>
        {result.messages.map((m) => (
          <li key={m.clientMsgId}>
            {m.status === 'sent' && m.deleted ? '(deleted)' : m.text}
            {m.status === 'sent' && m.reactions ? ` ${Object.keys(m.reactions).join('')}` : ''}
            {m.replyTo === undefined ? '' : ` ↩${m.replyTo}`}
          </li>
        ))}
      </ul>
    </section>
  );
}

const texts = () => screen.queryAllByRole('listitem').map((li) => li.textContent);

describe('useConversation and the message lifecycle (issue 16)', () => {
  it('loads the newest page, shows meta, and applies edit, delete, react and replies', async () => {
    const bob = kit.client('bob');
    await kit.connected(bob);
    await bob.conversation('c1').send('one');
    await bob.conversation('c1').send('two');
    const alice = kit.client('alice');
    await kit.connected(alice);
    render(
      <ParleyProvider client={alice}>
        <Chat />
      </ParleyProvider>,
    );
    await waitFor(() => expect(texts()).toEqual(['one', 'two']));
    expect(screen.getByRole('heading').textContent).toBe('T-c1');
    await act(() => api!.send('mine', { replyTo: 2 }));
    await waitFor(() => expect(texts()).toEqual(['one', 'two', 'mine ↩2']));
    await act(() => api!.edit(3, 'mine!'));
    await act(() => api!.react(1, '👍'));
    await waitFor(() => expect(texts()).toEqual(['one 👍', 'two', 'mine! ↩2']));
    await act(() => api!.delete(3));
    await waitFor(() => expect(texts()).toEqual(['one 👍', 'two', '(deleted) ↩2']));
    // Not alice's message: refused and rolled back.
    await act(() => expect(api!.edit(2, 'nope')).rejects.toMatchObject({ code: 'forbidden' }));
    expect(texts()).toEqual(['one 👍', 'two', '(deleted) ↩2']);
  });
});
