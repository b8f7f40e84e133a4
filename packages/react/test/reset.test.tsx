// @vitest-environment happy-dom
/**
 * What `useConversation` does when the history the client held is gone (a `reset`) or the user
 * leaves and rejoins: the newest messages are paged back in, the app is told (`lastReset`), and
 * the hook keeps the same live handle.
 */
import { createTestHub } from '@parley/testing';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { StrictMode } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyProvider, useConversation } from '../src/index.js';

// The hub replays at most 2 messages: a client 3 behind gets a `reset` (trimmed).
const kit = createTestHub({
  conversations: { c1: ['alice', 'bob'] },
  hub: { limits: { maxReplay: 2 } },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(async () => {
  cleanup();
  await kit.reset();
});
afterAll(() => server.close());

function Chat() {
  const { messages, lastReset, joined, unreadCount } = useConversation('c1');
  return (
    <section>
      {lastReset && <p role="alert">earlier messages were reloaded ({lastReset.reason})</p>}
      <p data-testid="joined">{String(joined)}</p>
      <p data-testid="unread">{unreadCount}</p>
      <ul>
        {messages.map((m) => (
          <li key={m.clientMsgId}>{m.text}</li>
        ))}
      </ul>
    </section>
  );
}

const texts = () => screen.queryAllByRole('listitem').map((li) => li.textContent);

describe('useConversation after a reset', () => {
  it('pages the newest messages back in, once, and tells the app', async () => {
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await Promise.all([kit.connected(alice), kit.connected(bob)]);
    render(
      <StrictMode>
        <ParleyProvider client={alice}>
          <Chat />
          <Chat />
        </ParleyProvider>
      </StrictMode>,
    );
    await bob.conversation('c1').send('b0');
    await waitFor(() => expect(texts()).toEqual(['b0', 'b0']));
    alice.conversation('c1').markRead();
    kit.goOffline('alice');
    for (const t of ['b1', 'b2', 'b3']) await bob.conversation('c1').send(t);
    kit.goOnline('alice');
    expect((await screen.findAllByRole('alert'))[0]!.textContent).toContain('trimmed');
    await waitFor(() => expect(texts()).toEqual(['b0', 'b1', 'b2', 'b3', 'b0', 'b1', 'b2', 'b3']));
    expect(screen.getAllByTestId('unread')[0]!.textContent).toBe('3');
    // Two components, one page request.
    expect(
      kit.frames.filter((f) => f.direction === 'in' && f.frame.type === 'history'),
    ).toHaveLength(1);
  });
});

describe('useConversation across leave and rejoin', () => {
  it('keeps the live handle: messages after the rejoin show', async () => {
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await Promise.all([kit.connected(alice), kit.connected(bob)]);
    render(
      <StrictMode>
        <ParleyProvider client={alice}>
          <Chat />
        </ParleyProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('joined').textContent).toBe('true'));
    await kit.hub.leave('c1', ['alice']);
    await waitFor(() => expect(screen.getByTestId('joined').textContent).toBe('false'));
    await kit.hub.join('c1', ['alice']);
    await waitFor(() => expect(screen.getByTestId('joined').textContent).toBe('true'));
    await bob.conversation('c1').send('after the rejoin');
    await screen.findByText('after the rejoin');
  });
});
