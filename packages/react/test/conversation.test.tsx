// @vitest-environment happy-dom
import type { ParleyClient } from '@parley/client';
import { createTestHub, listenerCounts } from '@parley/testing';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { StrictMode } from 'react';
import { hydrateRoot, type Root } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ParleyProvider,
  useConnectionState,
  useConversation,
  useInbox,
  useParleyEvent,
  usePresence,
} from '../src/index.js';

const kit = createTestHub({
  users: { alice: { name: 'Alice' }, bob: { name: 'Bob' } },
  conversations: { c1: ['alice', 'bob'] },
  // Receivers drop "typing" after 300 ms without a refresh (the default is 6 s).
  hub: { typing: { ttlMs: 300 } },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(async () => {
  cleanup();
  await kit.reset();
});
afterAll(() => server.close());

function Chat({ id }: { id: string }) {
  const { messages, send, typingUsers, unreadCount } = useConversation(id);
  const state = useConnectionState();
  return (
    <section>
      <p data-testid="state">{state}</p>
      <p data-testid="unread">{unreadCount}</p>
      <ul>
        {messages.map((m) => (
          <li key={m.clientMsgId} data-status={m.status}>
            {m.text}
          </li>
        ))}
      </ul>
      {typingUsers.length > 0 && <p role="status">{typingUsers.join(', ')} typing…</p>}
      <button type="button" onClick={() => void send('hello bob').catch(() => {})}>
        send
      </button>
    </section>
  );
}

function Extras() {
  useInbox();
  usePresence('bob');
  useParleyEvent('anything' as never, () => {});
  useParleyEvent('anything' as never, () => {}, { conversationId: 'c1' });
  return null;
}

function App({ client, extras = false }: { client: ParleyClient; extras?: boolean }) {
  return (
    <StrictMode>
      <ParleyProvider client={client}>
        <Chat id="c1" />
        {extras && <Chat id="c1" />}
        {extras && <Extras />}
      </ParleyProvider>
    </StrictMode>
  );
}

const seen: unknown[] = [];
function Probe() {
  const conv = useConversation('c1');
  seen.push(conv);
  return null;
}

const items = () => screen.queryAllByRole('listitem');
const sends = () => kit.frames.filter((f) => f.direction === 'in' && f.frame.type === 'send');

async function signedIn(userId: string) {
  const client = kit.client(userId);
  await kit.connected(client);
  return client;
}

describe('useConversation under StrictMode', () => {
  it('renders an optimistic message at once and shows it as sent after the ack', async () => {
    const alice = await signedIn('alice');
    render(<App client={alice} />);
    expect(screen.getByTestId('state').textContent).toBe('open');

    act(() => screen.getByRole('button', { name: 'send' }).click());
    // Same task as the click: the ack cannot have arrived yet.
    expect(items()).toHaveLength(1);
    expect(items()[0]!.textContent).toBe('hello bob');
    expect(items()[0]!.getAttribute('data-status')).toBe('pending');

    await waitFor(() => expect(items()[0]!.getAttribute('data-status')).toBe('sent'));
    expect(items()).toHaveLength(1);
    expect(sends()).toHaveLength(1); // StrictMode did not send twice
  });

  it('shows a message from another user', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    render(<App client={alice} />);
    await bob.conversation('c1').send('hi alice');
    expect((await screen.findByText('hi alice')).getAttribute('data-status')).toBe('sent');
    expect(screen.getByTestId('unread').textContent).toBe('1');
  });

  it('shows and clears a typing indicator', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    render(<App client={alice} />);
    bob.conversation('c1').typing();
    expect((await screen.findByRole('status')).textContent).toBe('bob typing…');
    // No refresh from bob: it expires after the hub's ttl (300 ms here).
    await waitFor(() => expect(screen.queryByRole('status')).toBeNull(), { timeout: 3_000 });

    bob.conversation('c1').typing(); // throttled: still inside bob's 3 s window, so not re-sent
    bob.conversation('c1').stopTyping();
    await bob.conversation('c1').send('done typing');
    await screen.findByText('done typing');
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('releases every listener on unmount', async () => {
    const alice = await signedIn('alice');
    const baseline = listenerCounts(alice);
    const view = render(<App client={alice} extras />);
    const mounted = listenerCounts(alice);
    // Two <Chat> for c1 share one `update` listener (plus one conversation `event` listener).
    expect(mounted['conversation:c1']).toBe(2);
    expect(mounted.client).toBeGreaterThan(baseline.client!);
    view.unmount();
    expect(listenerCounts(alice)).toEqual(baseline);
  });

  it('does not duplicate messages when remounted', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    await bob.conversation('c1').send('one');
    await bob.conversation('c1').send('two');
    const first = render(<App client={alice} />);
    await waitFor(() => expect(items().map((li) => li.textContent)).toEqual(['one', 'two']));
    first.unmount();
    render(<App client={alice} />);
    expect(items().map((li) => li.textContent)).toEqual(['one', 'two']);
    await bob.conversation('c1').send('three');
    await waitFor(() =>
      expect(items().map((li) => li.textContent)).toEqual(['one', 'two', 'three']),
    );
  });

  it('returns the same snapshot between unrelated renders', async () => {
    const alice = await signedIn('alice');
    seen.length = 0;
    const view = render(
      <ParleyProvider client={alice}>
        <Probe />
      </ParleyProvider>,
    );
    view.rerender(
      <ParleyProvider client={alice}>
        <Probe />
      </ParleyProvider>,
    );
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(1);
  });
});

describe('ParleyProvider with options', () => {
  it('opens exactly one socket under StrictMode and closes it on unmount', async () => {
    const view = render(
      <StrictMode>
        <ParleyProvider options={kit.options('alice')}>
          <Chat id="c1" />
        </ParleyProvider>
      </StrictMode>,
    );
    expect(screen.getByTestId('state').textContent).toBe('connecting');
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('open'));
    expect(kit.connections('alice')).toHaveLength(1);
    expect(kit.frames.filter((f) => f.frame.type === 'hello')).toHaveLength(1);
    view.unmount();
    await kit.waitFor(() => kit.connections('alice').length === 0);
  });

  it('renders on the server without a socket', () => {
    const html = renderToString(
      <ParleyProvider options={kit.options('alice')}>
        <Chat id="c1" />
      </ParleyProvider>,
    );
    expect(html).toContain('connecting');
    expect(kit.frames).toHaveLength(0);
    expect(kit.connections()).toHaveLength(0);
  });

  it('hydrates the server HTML without a mismatch, then connects', async () => {
    const ui = (
      <StrictMode>
        <ParleyProvider options={kit.options('alice')}>
          <Chat id="c1" />
        </ParleyProvider>
      </StrictMode>
    );
    const container = document.createElement('div');
    container.innerHTML = renderToString(ui);
    document.body.appendChild(container);
    const consoleError = vi.spyOn(console, 'error');
    const recoverable: unknown[] = [];
    let root: Root | undefined;
    act(() => {
      root = hydrateRoot(container, ui, { onRecoverableError: (e) => recoverable.push(e) });
    });
    await waitFor(() =>
      expect(container.querySelector('[data-testid=state]')?.textContent).toBe('open'),
    );
    expect(recoverable).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockRestore();
    act(() => root?.unmount());
    container.remove();
    await kit.waitFor(() => kit.connections('alice').length === 0);
  });
});
