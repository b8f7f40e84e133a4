// @vitest-environment happy-dom
import type { ParleyClient } from '@parley/client';
import { createTestHub, listenerCounts } from '@parley/testing';
import { flushPromises, mount } from '@vue/test-utils';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSSRApp, defineComponent, h, nextTick } from 'vue';
import { renderToString } from 'vue/server-renderer';
import {
  createParley,
  useConnectionState,
  useConversation,
  useInbox,
  useParleyEvent,
  usePresence,
} from '../src/index.js';

/**
 * Holds sends in the hub's `persist` hook while a test says so. The mock transport delivers in
 * microtasks, so without it an ack can beat Vue's next render: a test that must see the pending
 * state holds the ack instead of racing it.
 */
let persistGate: Promise<void> = Promise.resolve();
const kit = createTestHub({
  users: { alice: { name: 'Alice' }, bob: { name: 'Bob' } },
  conversations: { c1: ['alice', 'bob'] },
  hub: {
    typing: { ttlMs: 300 },
    persist: async () => {
      await persistGate;
      return undefined;
    },
  },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(() => {
  persistGate = Promise.resolve();
  kit.reset();
});
afterAll(() => server.close());

const Chat = defineComponent({
  props: { id: { type: String, required: true } },
  setup(props) {
    const { messages, send, typingUsers, unreadCount } = useConversation(() => props.id);
    const state = useConnectionState();
    return () =>
      h('section', [
        h('p', { 'data-testid': 'state' }, state.value),
        h('p', { 'data-testid': 'unread' }, String(unreadCount.value)),
        h(
          'ul',
          messages.value.map((m) =>
            h('li', { key: m.clientMsgId, 'data-status': m.status }, m.text),
          ),
        ),
        typingUsers.value.length > 0
          ? h('p', { role: 'status' }, `${typingUsers.value.join(', ')} typing…`)
          : null,
        h('button', { onClick: () => void send('hello bob').catch(() => {}) }, 'send'),
      ]);
  },
});

const Extras = defineComponent({
  setup() {
    useInbox();
    usePresence('bob');
    useParleyEvent('anything' as never, () => {});
    useParleyEvent('anything' as never, () => {}, { conversationId: 'c1' });
    return () => null;
  },
});

const Both = defineComponent({
  setup: () => () => h('div', [h(Chat, { id: 'c1' }), h(Chat, { id: 'c1' }), h(Extras)]),
});

function mountChat(client: ParleyClient) {
  return mount(Chat, { props: { id: 'c1' }, global: { plugins: [createParley(client)] } });
}

async function signedIn(userId: string) {
  const client = kit.client(userId);
  await kit.connected(client);
  return client;
}

type Wrapper = ReturnType<typeof mountChat>;
const texts = (w: Wrapper) => w.findAll('li').map((li) => li.text());
const sends = () => kit.frames.filter((f) => f.direction === 'in' && f.frame.type === 'send');

describe('useConversation', () => {
  it('renders an optimistic message at once and shows it as sent after the ack', async () => {
    const alice = await signedIn('alice');
    const w = mountChat(alice);
    expect(w.get('[data-testid=state]').text()).toBe('open');
    let release = () => {};
    persistGate = new Promise((r) => {
      release = r;
    });
    await w.get('button').trigger('click'); // resolves after Vue's next render; the ack is held
    expect(texts(w)).toEqual(['hello bob']);
    expect(w.get('li').attributes('data-status')).toBe('pending');
    release();
    persistGate = Promise.resolve();
    await kit.waitFor(() => w.get('li').attributes('data-status') === 'sent');
    expect(texts(w)).toEqual(['hello bob']);
    expect(sends()).toHaveLength(1);
    w.unmount();
  });

  it('shows a message from another user', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    const w = mountChat(alice);
    await bob.conversation('c1').send('hi alice');
    await kit.waitFor(() => texts(w).includes('hi alice'));
    expect(w.get('li').attributes('data-status')).toBe('sent');
    expect(w.get('[data-testid=unread]').text()).toBe('1');
    w.unmount();
  });

  it('shows and clears a typing indicator', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    const w = mountChat(alice);
    bob.conversation('c1').typing();
    await kit.waitFor(() => w.find('[role=status]').exists());
    expect(w.get('[role=status]').text()).toBe('bob typing…');
    // No refresh from bob: it expires after the hub's ttl (300 ms here).
    await kit.waitFor(() => !w.find('[role=status]').exists(), { timeoutMs: 3_000 });
    w.unmount();
  });

  it('releases every listener on unmount', async () => {
    const alice = await signedIn('alice');
    const baseline = listenerCounts(alice);
    const w = mount(Both, { global: { plugins: [createParley(alice)] } });
    await nextTick();
    const mounted = listenerCounts(alice);
    // Two Chat (one `update` listener each) + one conversation `event` listener.
    expect(mounted['conversation:c1']).toBe(3);
    expect(mounted.client).toBeGreaterThan(baseline.client!);
    w.unmount();
    expect(listenerCounts(alice)).toEqual(baseline);
    expect(alice.state).toBe('open'); // the app's client is not closed by the plugin
  });

  it('does not duplicate messages when remounted', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    await bob.conversation('c1').send('one');
    await bob.conversation('c1').send('two');
    const first = mountChat(alice);
    await kit.waitFor(() => texts(first).length === 2);
    first.unmount();
    const second = mountChat(alice);
    expect(texts(second)).toEqual(['one', 'two']);
    await bob.conversation('c1').send('three');
    await kit.waitFor(() => texts(second).length === 3);
    expect(texts(second)).toEqual(['one', 'two', 'three']);
    second.unmount();
  });

  it('follows a reactive conversation id', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    await bob.conversation('c1').send('in c1');
    const w = mountChat(alice);
    await kit.waitFor(() => texts(w).length === 1);
    await w.setProps({ id: 'elsewhere' });
    expect(texts(w)).toEqual([]);
    expect(listenerCounts(alice)['conversation:c1']).toBeUndefined();
    w.unmount();
  });
});

describe('createParley(options)', () => {
  it('connects once mounted, with one socket, and closes it with the app', async () => {
    const w = mount(Chat, {
      props: { id: 'c1' },
      global: { plugins: [createParley(kit.options('alice'))] },
    });
    await kit.waitFor(() => w.get('[data-testid=state]').text() === 'open');
    expect(kit.connections('alice')).toHaveLength(1);
    w.unmount();
    await kit.waitFor(() => kit.connections('alice').length === 0);
  });

  it('renders on the server without a socket', async () => {
    const plugin = createParley(kit.options('alice'));
    const app = createSSRApp(Chat, { id: 'c1' }).use(plugin);
    const html = await renderToString(app);
    expect(html).toContain('connecting');
    await flushPromises();
    expect(kit.frames).toHaveLength(0);
    expect(kit.connections()).toHaveLength(0);
    plugin.client.close();
  });

  it('hydrates the server HTML without a mismatch, then connects', async () => {
    const html = await renderToString(
      createSSRApp(Chat, { id: 'c1' }).use(createParley(kit.options('alice'))),
    );
    const container = document.createElement('div');
    container.innerHTML = html;
    document.body.appendChild(container);
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    const app = createSSRApp(Chat, { id: 'c1' }).use(createParley(kit.options('alice')));
    app.mount(container);
    await kit.waitFor(() => container.querySelector('[data-testid=state]')?.textContent === 'open');
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
    warn.mockRestore();
    error.mockRestore();
    app.unmount();
    container.remove();
    await kit.waitFor(() => kit.connections('alice').length === 0);
  });
});
