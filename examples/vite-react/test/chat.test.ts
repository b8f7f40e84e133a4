// @vitest-environment happy-dom
/**
 * How an app team tests its chat screen with @parley/testing: the real hub in-process behind
 * msw, no server, no port. (A `.ts` file because the repo's test glob for examples is `*.test.ts`;
 * in an app, write this with JSX.)
 */
import { ParleyProvider } from '@parley/react';
import { createTestHub } from '@parley/testing';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { createElement as h, StrictMode } from 'react';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Chat } from '../src/Chat.js';

// The five-line setup.
const kit = createTestHub({ conversations: { 'alice-bob': ['alice', 'bob'] } });
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => kit.reset());
afterEach(cleanup);
afterAll(() => server.close());

function renderChat() {
  return render(
    h(
      StrictMode,
      null,
      h(
        ParleyProvider,
        { options: kit.options('alice') },
        h(Chat, { conversationId: 'alice-bob', peer: 'bob' }),
      ),
    ),
  );
}

const bubbles = () => screen.queryAllByRole('listitem').map((li) => li.firstChild?.textContent);

it('sends, receives, shows typing, and survives going offline', async () => {
  const bob = kit.client('bob');
  await kit.connected(bob);
  renderChat();
  await waitFor(() => expect(screen.getByTestId('connection').textContent).toBe('open'));
  await screen.findByText('bob ●'); // bob is online

  // Alice sends: shown at once as pending, then sent.
  fireEvent.change(screen.getByLabelText('message'), { target: { value: 'Lunch?' } });
  fireEvent.submit(screen.getByLabelText('message'));
  expect(screen.getByText('Lunch?').closest('li')?.dataset.status).toBe('pending');
  await waitFor(() =>
    expect(screen.getByText('Lunch?').closest('li')?.dataset.status).toBe('sent'),
  );

  // Bob types, then answers.
  bob.conversation('alice-bob').typing();
  await screen.findByText('bob is typing…');
  await bob.conversation('alice-bob').send('Sure, 12:30');
  await screen.findByText('Sure, 12:30');
  expect(screen.queryByText('bob is typing…')).toBeNull();
  // The screen marks what it shows as read.
  await kit.waitForFrame({ direction: 'in', userId: 'alice', type: 'read' });

  // Alice's network drops: her message waits in the outbox, then goes out when she is back.
  kit.goOffline('alice');
  await waitFor(() => expect(screen.getByTestId('connection').textContent).not.toBe('open'));
  fireEvent.change(screen.getByLabelText('message'), { target: { value: 'Running late' } });
  fireEvent.submit(screen.getByLabelText('message'));
  expect(screen.getByText('Running late').closest('li')?.dataset.status).toBe('pending');
  kit.goOnline('alice');
  await waitFor(
    () => expect(screen.getByText('Running late').closest('li')?.dataset.status).toBe('sent'),
    {
      timeout: 3_000,
    },
  );
  await kit.waitFor(() => bob.conversation('alice-bob').messages.length === 3);
  expect(bubbles()).toEqual(['Lunch?', 'Sure, 12:30', 'Running late']);
});
