/**
 * The signed-in page: the client, the sidebar (inbox, current user), the connection pill and
 * banner, and the client events that re-render them.
 */
import { type ConnectionState, createClient, localStorageOutbox } from '@parley/client';
import { api, loadMetas } from './api.js';
import { avatar } from './avatar.js';
import { presenceKnown } from './connectivity.js';
import { openConversation, renderHeader } from './conversation.js';
import { h, ICON, svg } from './dom.js';
import { renderInbox } from './inbox.js';
import { openNewConversation } from './new-conversation.js';
import { markOpenRead } from './read.js';
import { signOut } from './signin.js';
import { app, currentState, metaOf, root } from './state.js';

/** The elements of the signed-in shell, set by {@link startApp}. */
export let els: {
  banner: HTMLElement;
  pill: HTMLElement;
  inbox: HTMLElement;
  main: HTMLElement;
  modal: HTMLElement;
};

/** The conversation named by the URL (`#/c/<id>`), or ''. */
export const conversationInHash = () => decodeURIComponent(location.hash.replace(/^#\/c\//, ''));

export async function startApp(): Promise<void> {
  const me = app.session!.user;
  await loadMetas();
  const c = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/parley`,
    token: () => app.session?.token ?? '',
    outbox: { storage: localStorageOutbox(`parley-demo:outbox:${me.id}`) },
  });
  app.client = c;
  // Test hook (the e2e tests use it to force the socket down while the context is offline).
  (window as unknown as { __parley: unknown }).__parley = { client: c, open: openConversation };

  root.className = 'app';
  renderedState = undefined;
  els = {
    banner: h('div', { class: 'banner', 'data-testid': 'connection-banner' }),
    pill: h('span', { class: 'pill', 'data-testid': 'connection-state' }),
    inbox: h('ul', { class: 'inbox', 'data-testid': 'inbox' }),
    main: h('section', { class: 'main' }),
    modal: h('div', { class: 'modal-root' }),
  };
  root.replaceChildren(
    h(
      'aside',
      { class: 'sidebar' },
      h(
        'header',
        { class: 'side-head' },
        h('div', { class: 'brand' }, h('span', { class: 'logo' }, svg(ICON.chat)), 'Parley'),
        els.pill,
      ),
      h(
        'div',
        { class: 'side-actions' },
        h('h2', {}, 'Inbox'),
        h(
          'button',
          {
            class: 'btn primary sm',
            'data-testid': 'new-conversation',
            onclick: openNewConversation,
          },
          svg(ICON.plus),
          'New',
        ),
      ),
      els.inbox,
      h(
        'footer',
        { class: 'me', 'data-testid': 'current-user', 'data-user-id': me.id },
        avatar(me.id, { presence: false }),
        h(
          'span',
          { class: 'who' },
          h('strong', {}, me.name),
          h('span', { class: 'muted' }, me.title),
        ),
        h(
          'button',
          {
            class: 'icon-btn',
            title: 'Sign out',
            'data-testid': 'sign-out',
            onclick: () => signOut(),
          },
          svg(ICON.logout),
        ),
      ),
    ),
    h('div', { class: 'content' }, els.banner, els.main),
    els.modal,
  );

  c.on('state', ({ from, to, code }) => {
    if (to === 'closed' && app.client === c && (code === 4401 || code === 4403)) {
      signOut('Your session is no longer valid. Please sign in again.');
      return;
    }
    renderStatus();
    // Back after a disconnect: the server may be a new process that lost conversations created
    // at runtime, so ask the app's API again instead of showing dead rows.
    if (to === 'open' && from !== 'connecting') {
      void loadMetas(true)
        .then(() => {
          if (app.openId !== undefined && !metaOf(app.openId)) openConversation(undefined);
          renderInbox();
        })
        .catch(() => undefined);
    }
  });
  c.on('reconnect', ({ code }) => {
    renderStatus();
    // 4401: the hub no longer accepts our token (the secret changed: someone deleted
    // examples/chat/.data). Ask the API; a 401 there signs out instead of retrying forever.
    if (code === 4401) void api('/api/me').catch(() => undefined);
  });
  c.on('inbox', () => {
    app.resets.observe(c.conversations());
    renderInbox();
    markOpenRead();
  });
  c.on('presence', () => {
    renderInbox();
    if (app.openId) renderHeader();
  });
  // A reset: the client dropped the conversation's messages (an opened one pages the newest in
  // again by itself). Tell the user when something they saw was replaced (see resets.ts).
  c.on('reset', (ev) => app.resets.onReset(ev));
  c.on('conversation', ({ type, conversationId }) => {
    if (type === 'joined') {
      // The hub's `joined` carries no title: the app's API (or the metadata that follows) does.
      void loadMetas()
        .catch(() => undefined)
        .finally(renderInbox);
    } else {
      app.metas.delete(conversationId);
      if (app.openId === conversationId) openConversation(undefined);
      renderInbox();
    }
  });
  for (const id of app.metas.keys()) c.conversation(id);
  renderStatus();
  const fromHash = conversationInHash();
  openConversation(metaOf(fromHash) ? fromHash : undefined);
}

const STATE_LABEL: Record<ConnectionState, [key: string, label: string, detail: string]> = {
  connecting: ['connecting', 'Connecting…', 'Connecting to the server…'],
  open: ['live', 'Live', ''],
  reconnecting: [
    'reconnecting',
    'Reconnecting…',
    'Connection lost. Reconnecting — messages you send are queued and will be delivered.',
  ],
  offline: [
    'offline',
    'Offline',
    'You are offline. Messages you send are kept and delivered when you are back.',
  ],
  closed: ['offline', 'Disconnected', 'Disconnected.'],
};

let renderedState: ConnectionState | undefined;

/** The connection pill and banner, and everything that depends on the state (presence). */
export function renderStatus(): void {
  if (!app.client) return;
  const state = currentState();
  if (state === renderedState) return;
  const presenceChanged =
    renderedState === undefined || presenceKnown(state) !== presenceKnown(renderedState);
  renderedState = state;
  renderConnection(state);
  if (presenceChanged) {
    renderInbox();
    if (app.openId) renderHeader();
  }
}

function renderConnection(state: ConnectionState): void {
  const [key, label, detail] = STATE_LABEL[state];
  els.pill.dataset.state = key;
  els.pill.className = `pill ${key}`;
  els.pill.replaceChildren(h('span', { class: 'dot' }), label);
  els.banner.dataset.state = key;
  els.banner.className = `banner ${key}${key === 'live' ? ' hidden' : ''}`;
  els.banner.replaceChildren(h('span', { class: 'dot' }), detail);
}
