/**
 * The in-page backend of this example: the real Parley hub running in the browser behind msw
 * (`@parley/testing`), plus "bob", a second client in the same page that answers. Swap
 * `kit.options('alice')` for your own `{ url, token }` to talk to a real hub instead.
 */
import { createTestHub } from '@parley/testing';
import { setupWorker } from 'msw/browser';

export const kit = createTestHub({
  users: { alice: { name: 'Alice' }, bob: { name: 'Bob' } },
  conversations: { 'alice-bob': ['alice', 'bob'] },
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/parley`,
});

export async function startMockBackend(): Promise<void> {
  await setupWorker(kit.handler).start({ onUnhandledRequest: 'bypass', quiet: true });
  const bob = kit.client('bob');
  // Bob is online before alice connects, so her `welcome` already shows him online.
  await kit.connected(bob);
  const room = bob.conversation('alice-bob');
  room.on('message', (m) => {
    if (m.senderId === 'bob') return;
    room.typing();
    setTimeout(() => void room.send(`You said “${m.text}”`).catch(() => {}), 900);
  });
}
