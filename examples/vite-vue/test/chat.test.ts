// @vitest-environment happy-dom
/** How an app team tests its Vue chat screen with @parley/testing: no server, no port. */

import { createTestHub } from '@parley/testing';
import { createParley } from '@parley/vue';
import { mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Chat } from '../src/Chat.js';

// The five-line setup.
const kit = createTestHub({ conversations: { 'alice-bob': ['alice', 'bob'] } });
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => kit.reset());
afterAll(() => server.close());

it('sends, receives, shows typing, and survives going offline', async () => {
  const bob = kit.client('bob');
  await kit.connected(bob);
  const w = mount(Chat, {
    props: { conversationId: 'alice-bob', peer: 'bob' },
    global: { plugins: [createParley(kit.options('alice'))] },
  });
  const status = (text: string) =>
    w
      .findAll('li')
      .find((li) => li.text().startsWith(text))
      ?.attributes('data-status');
  await kit.waitFor(() => w.get('[data-testid=connection]').text() === 'open');
  await kit.waitFor(() => w.get('strong').text() === 'bob ●');

  await w.get('input').setValue('Lunch?');
  await w.get('form').trigger('submit');
  expect(status('Lunch?')).toBe('pending');
  await kit.waitFor(() => status('Lunch?') === 'sent');

  bob.conversation('alice-bob').typing();
  await kit.waitFor(() => w.get('[role=status]').text() === 'bob is typing…');
  await bob.conversation('alice-bob').send('Sure, 12:30');
  await kit.waitFor(() => status('Sure, 12:30') === 'sent');
  expect(w.get('[role=status]').text()).toBe('');
  await kit.waitForFrame({ direction: 'in', userId: 'alice', type: 'read' });

  kit.goOffline('alice');
  await kit.waitFor(() => w.get('[data-testid=connection]').text() !== 'open');
  await w.get('input').setValue('Running late');
  await w.get('form').trigger('submit');
  expect(status('Running late')).toBe('pending');
  kit.goOnline('alice');
  await kit.waitFor(() => status('Running late') === 'sent');
  await kit.waitFor(() => bob.conversation('alice-bob').messages.length === 3);
  w.unmount();
  await kit.waitFor(() => kit.connections('alice').length === 0); // the plugin's client is closed
});
