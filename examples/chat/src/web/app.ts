/**
 * The demo page: plain TypeScript + DOM on top of @parley/client. Bundled by the server with
 * esbuild at startup. `data-testid` attributes are what the e2e tests drive.
 */
import {
  type ClientMessage,
  type ConnectionState,
  type Conversation,
  createClient,
  localStorageOutbox,
  type ParleyClient,
} from '@parley/client';
import { presenceKnown, shownState } from './connectivity.js';
import { h, ICON, svg } from './dom.js';
import { initials, lastSeen, shortTime, timeOf } from './format.js';
import { type ResetNotice, ResetNotices, resetText } from './resets.js';

interface User {
  id: string;
  name: string;
  title: string;
  color: string;
}

interface ConversationMeta {
  id: string;
  kind: 'dm' | 'group' | 'support';
  title: string;
  members: string[];
}

interface Session {
  token: string;
  user: User;
}

const SESSION_KEY = 'parley-demo:session';
const PAGE = 30;

// --- app state ---------------------------------------------------------------------------------

const root = document.getElementById('root')!;
let users = new Map<string, User>();
const metas = new Map<string, ConversationMeta>();
let session: Session | undefined;
let client: ParleyClient | undefined;
let openId: string | undefined;
let openUnsub: (() => void) | undefined;
let notice: string | undefined;
let loadingOlder = false;
const resets = new ResetNotices();

/** The state on screen (see connectivity.ts): the browser's `offline` wins over the client's state. */
const currentState = (): ConnectionState => shownState(client?.state ?? 'connecting');

const userName = (id: string) => users.get(id)?.name ?? (id === 'system' ? 'Parley' : id);
const firstName = (id: string) => userName(id).split(' ')[0] ?? id;

function titleOf(meta: ConversationMeta | undefined, id: string): string {
  if (!meta) return id;
  if (meta.kind === 'dm') return userName(peerOf(meta) ?? id);
  return meta.title;
}

function peerOf(meta: ConversationMeta): string | undefined {
  return meta.kind === 'dm' ? meta.members.find((m) => m !== session?.user.id) : undefined;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(session ? { authorization: `Bearer ${session.token}` } : {}),
      ...(init.headers ?? {}),
    },
  });
  if (res.status === 401) {
    signOut('Your session expired. Please sign in again.');
    throw new Error('unauthenticated');
  }
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** The user's conversations from the app's API; `replace` drops the ones that are gone. */
async function loadMetas(replace = false): Promise<void> {
  const list = await api<ConversationMeta[]>('/api/conversations');
  if (replace) metas.clear();
  for (const m of list) metas.set(m.id, m);
}

function avatar(userId: string, opts: { size?: 'sm' | 'md' | 'lg'; presence?: boolean } = {}) {
  const u = users.get(userId);
  const known = presenceKnown(currentState());
  const online = known && client?.presence(userId)?.online === true;
  const label = known
    ? online
      ? 'Online'
      : 'Offline'
    : 'Presence unknown while you are not connected';
  return h(
    'span',
    {
      class: `avatar ${opts.size ?? 'md'}`,
      style: `--c:${u?.color ?? '#94a3b8'}`,
      title: userName(userId),
    },
    initials(userName(userId)),
    opts.presence &&
      h('span', {
        class: `presence ${known ? (online ? 'on' : 'off') : 'unknown'}`,
        'data-testid': 'presence-dot',
        'data-online': known ? String(online) : 'unknown',
        title: label,
      }),
  );
}

function convAvatar(meta: ConversationMeta | undefined) {
  if (meta?.kind === 'dm') {
    const peer = peerOf(meta);
    if (peer) return avatar(peer, { presence: true });
  }
  return h(
    'span',
    { class: `avatar md ${meta?.kind ?? 'group'}` },
    svg(meta?.kind === 'support' ? ICON.headset : ICON.hash),
  );
}

// --- sign-in -----------------------------------------------------------------------------------

function renderSignIn(): void {
  root.className = 'signin-page';
  root.replaceChildren(
    h(
      'main',
      { class: 'signin-card', 'data-testid': 'signin' },
      h('div', { class: 'brand lg' }, h('span', { class: 'logo' }, svg(ICON.chat)), 'Parley'),
      h('h1', {}, 'Sign in to the demo workspace'),
      h(
        'p',
        { class: 'muted' },
        'Pick a person. The server signs a session token for them; open a second window as someone else to chat.',
      ),
      notice && h('p', { class: 'notice' }, notice),
      h(
        'ul',
        { class: 'user-list' },
        [...users.values()].map((u) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                class: 'user-pick',
                'data-testid': `signin-${u.id}`,
                onclick: () => void signIn(u.id),
              },
              avatar(u.id, { size: 'lg' }),
              h(
                'span',
                { class: 'who' },
                h('strong', {}, u.name),
                h('span', { class: 'muted' }, u.title),
              ),
              h('span', { class: 'chev' }, '›'),
            ),
          ),
        ),
      ),
    ),
  );
}

async function signIn(userId: string): Promise<void> {
  const s = await api<Session>('/api/session', {
    method: 'POST',
    body: JSON.stringify({ userId }),
  });
  session = s;
  notice = undefined;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  await startApp();
}

function signOut(message?: string): void {
  client?.close();
  client = undefined;
  session = undefined;
  openId = undefined;
  metas.clear();
  resets.clear();
  sessionStorage.removeItem(SESSION_KEY);
  notice = message;
  history.replaceState(null, '', location.pathname);
  renderSignIn();
}

// --- the app shell -----------------------------------------------------------------------------

let els: {
  banner: HTMLElement;
  pill: HTMLElement;
  inbox: HTMLElement;
  main: HTMLElement;
  modal: HTMLElement;
};

async function startApp(): Promise<void> {
  const me = session!.user;
  await loadMetas();
  const c = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/parley`,
    token: () => session?.token ?? '',
    outbox: { storage: localStorageOutbox(`parley-demo:outbox:${me.id}`) },
  });
  client = c;
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
    if (to === 'closed' && client === c && (code === 4401 || code === 4403)) {
      signOut('Your session is no longer valid. Please sign in again.');
      return;
    }
    renderStatus();
    // Back after a disconnect: the server may be a new process that lost conversations created
    // at runtime, so ask the app's API again instead of showing dead rows.
    if (to === 'open' && from !== 'connecting') {
      void loadMetas(true)
        .then(() => {
          if (openId !== undefined && !metas.has(openId)) openConversation(undefined);
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
    resets.observe(c.conversations());
    renderInbox();
    markOpenRead();
  });
  c.on('presence', () => {
    renderInbox();
    if (openId) renderHeader();
  });
  // A reset: the client dropped the conversation's messages. Page in what the server holds now,
  // and tell the user when something they saw was replaced (see resets.ts).
  c.on('reset', (ev) => {
    resets.onReset(ev);
    void c
      .conversation(ev.conversationId)
      .loadOlder(PAGE)
      .catch(() => undefined);
  });
  c.on('conversation', ({ type, conversationId }) => {
    if (type === 'joined') {
      void loadMetas()
        .then(() => c.conversation(conversationId).loadOlder(PAGE))
        .catch(() => undefined)
        .finally(renderInbox);
    } else {
      metas.delete(conversationId);
      if (openId === conversationId) openConversation(undefined);
      renderInbox();
    }
  });
  for (const id of metas.keys()) c.conversation(id);
  renderStatus();
  const fromHash = conversationInHash();
  openConversation(metas.has(fromHash) ? fromHash : undefined);
}

const conversationInHash = () => decodeURIComponent(location.hash.replace(/^#\/c\//, ''));

// The browser's network signals change what the page shows at once (connectivity.ts).
for (const type of ['online', 'offline']) window.addEventListener(type, () => renderStatus());

// Browser back/forward (and the phone layout's back button) move between inbox and conversation.
window.addEventListener('popstate', () => {
  if (!client) return;
  const id = conversationInHash();
  const next = metas.has(id) ? id : undefined;
  if (next !== openId) openConversation(next, 'none');
});

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
function renderStatus(): void {
  if (!client) return;
  const state = currentState();
  if (state === renderedState) return;
  const presenceChanged =
    renderedState === undefined || presenceKnown(state) !== presenceKnown(renderedState);
  renderedState = state;
  renderConnection(state);
  if (presenceChanged) {
    renderInbox();
    if (openId) renderHeader();
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

function preview(m: ClientMessage | undefined): string {
  if (!m) return 'No messages yet';
  const me = session?.user.id;
  const who = m.senderId === me ? 'You: ' : m.kind === 'system' ? '' : '';
  return `${who}${m.text}`;
}

function renderInbox(): void {
  if (!client || !session) return;
  const rows = client.inbox().filter((r) => metas.has(r.conversationId));
  const known = new Set(rows.map((r) => r.conversationId));
  const extra = [...metas.keys()].filter((id) => !known.has(id));
  const items = [
    ...rows,
    ...extra.map((id) => ({
      conversationId: id,
      lastMessage: undefined,
      unreadCount: 0,
      typingUsers: [] as readonly string[],
    })),
  ];
  els.inbox.replaceChildren(
    ...items.map((r) => {
      const meta = metas.get(r.conversationId);
      const active = r.conversationId === openId;
      const unread = active ? 0 : r.unreadCount;
      const typing = r.typingUsers.length > 0;
      const reset = resets.get(r.conversationId);
      return h(
        'li',
        {},
        h(
          'button',
          {
            class: `inbox-item${active ? ' active' : ''}${unread > 0 ? ' unread' : ''}`,
            'data-testid': `inbox-item-${r.conversationId}`,
            'data-unread': String(unread),
            'data-reset': reset ? reset.reason : undefined,
            onclick: () => openConversation(r.conversationId, 'push'),
          },
          convAvatar(meta),
          h(
            'span',
            { class: 'inbox-body' },
            h(
              'span',
              { class: 'inbox-top' },
              h('span', { class: 'inbox-title' }, titleOf(meta, r.conversationId)),
              reset &&
                h(
                  'span',
                  {
                    class: 'reset-tag',
                    'data-testid': 'inbox-reset',
                    title: resetText(reset, timeOf(reset.at)).title,
                  },
                  svg(ICON.reset),
                  reset.reason === 'epoch_changed' ? 'Reset' : 'Skipped',
                ),
              r.lastMessage &&
                h('span', { class: 'inbox-time' }, shortTime(r.lastMessage.createdAt)),
            ),
            h(
              'span',
              { class: 'inbox-bottom' },
              typing
                ? h(
                    'span',
                    { class: 'inbox-preview typing' },
                    `${r.typingUsers.map(firstName).join(', ')} typing…`,
                  )
                : h(
                    'span',
                    { class: 'inbox-preview', 'data-testid': 'last-message' },
                    preview(r.lastMessage),
                  ),
              unread > 0 &&
                h('span', { class: 'badge', 'data-testid': 'unread-badge' }, String(unread)),
            ),
          ),
        ),
      );
    }),
  );
}

// --- the open conversation ---------------------------------------------------------------------

let conv:
  | {
      header: HTMLElement;
      list: HTMLElement;
      typing: HTMLElement;
      input: HTMLTextAreaElement;
    }
  | undefined;

/**
 * Shows conversation `id` (or the inbox's empty state). `push` adds a history entry, so that the
 * browser's back button (on a phone: the way back to the list) returns to the inbox.
 */
function openConversation(
  id: string | undefined,
  historyMode: 'push' | 'replace' | 'none' = 'replace',
): void {
  openUnsub?.();
  openUnsub = undefined;
  const from = openId;
  openId = id;
  const url = id ? `#/c/${encodeURIComponent(id)}` : location.pathname;
  if (historyMode === 'push' && id !== from) history.pushState({ parley: 'conversation' }, '', url);
  else if (historyMode !== 'none') history.replaceState(history.state, '', url);
  // The phone layout shows either the list or the conversation (styles.css).
  root.classList.toggle('conv-open', id !== undefined && client !== undefined);
  if (!client || !id) {
    conv = undefined;
    els.main.replaceChildren(
      h(
        'div',
        { class: 'empty', 'data-testid': 'empty-state' },
        h('span', { class: 'empty-icon' }, svg(ICON.chat)),
        h('h3', {}, 'Your conversations'),
        h('p', { class: 'muted' }, 'Pick a conversation from the inbox, or start a new one.'),
      ),
    );
    renderInbox();
    return;
  }
  const c = client.conversation(id);
  const input = h('textarea', {
    class: 'composer-input',
    rows: 1,
    placeholder: `Message ${titleOf(metas.get(id), id)}`,
    'data-testid': 'composer-input',
  }) as HTMLTextAreaElement;
  const send = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize(input);
    c.send(text).catch(() => undefined); // failures show on the message (status: failed, retry)
    stickToBottom = true;
  };
  input.addEventListener('input', () => {
    autosize(input);
    if (input.value.trim()) c.typing();
    else c.stopTyping();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      send();
    }
  });
  input.addEventListener('blur', () => c.stopTyping());
  conv = {
    header: h('header', { class: 'conv-head' }),
    list: h('div', { class: 'messages', 'data-testid': 'messages' }),
    typing: h('div', { class: 'typing-row' }),
    input,
  };
  els.main.replaceChildren(
    h(
      'div',
      { class: 'conversation', 'data-testid': 'conversation', 'data-conversation-id': id },
      conv.header,
      conv.list,
      h(
        'footer',
        { class: 'composer' },
        conv.typing,
        h(
          'div',
          { class: 'composer-box' },
          input,
          h(
            'button',
            {
              class: 'btn primary send',
              'data-testid': 'send-button',
              title: 'Send (Enter)',
              onclick: send,
            },
            svg(ICON.send),
            h('span', { class: 'label' }, 'Send'),
          ),
        ),
      ),
    ),
  );
  stickToBottom = true;
  openUnsub = c.on('update', () => renderConversation());
  renderHeader();
  renderConversation();
  markOpenRead();
  renderInbox();
  input.focus();
}

function autosize(t: HTMLTextAreaElement): void {
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
}

function renderHeader(): void {
  if (!conv || !openId || !client) return;
  const meta = metas.get(openId);
  const known = presenceKnown(currentState());
  let sub: string;
  if (meta?.kind === 'dm') {
    const peer = peerOf(meta)!;
    const p = client.presence(peer);
    if (!known) sub = 'Presence unknown while you are not connected';
    else sub = p?.online ? 'Online' : lastSeen(p?.lastSeenAt);
  } else {
    const members = meta?.members ?? [];
    const online = members.filter(
      (m) => m === session?.user.id || client?.presence(m)?.online,
    ).length;
    sub = known ? `${members.length} members · ${online} online` : `${members.length} members`;
  }
  conv.header.replaceChildren(
    h(
      'button',
      {
        class: 'icon-btn back',
        title: 'Back to the inbox',
        'aria-label': 'Back to the inbox',
        'data-testid': 'back-to-inbox',
        onclick: backToInbox,
      },
      svg(ICON.back),
    ),
    convAvatar(meta),
    h(
      'div',
      { class: 'conv-title' },
      h('h2', { 'data-testid': 'conversation-title' }, titleOf(meta, openId)),
      h('span', { class: 'muted', 'data-testid': 'conversation-subtitle' }, sub),
    ),
    ...(meta && meta.kind !== 'dm'
      ? [
          h(
            'div',
            { class: 'members' },
            meta.members.slice(0, 5).map((m) => avatar(m, { size: 'sm', presence: true })),
          ),
        ]
      : []),
  );
}

/** The phone layout's back button: the previous history entry when we pushed one, else the list. */
function backToInbox(): void {
  if ((history.state as { parley?: string } | null)?.parley === 'conversation') history.back();
  else openConversation(undefined);
}

let stickToBottom = true;

function statusOf(
  m: ClientMessage,
  c: Conversation,
): { status: string; label: string; icon: string } {
  if (m.status === 'pending') return { status: 'pending', label: 'Sending…', icon: ICON.clock };
  if (m.status === 'failed') return { status: 'failed', label: 'Not sent', icon: ICON.alert };
  const seq = m.seq ?? 0;
  const readers = [...c.reads]
    .filter(([u, r]) => u !== session?.user.id && r >= seq)
    .map(([u]) => u);
  if (readers.length > 0) {
    const meta = metas.get(c.id);
    const label = meta?.kind === 'dm' ? 'Read' : `Seen by ${readers.map(firstName).join(', ')}`;
    return { status: 'read', label, icon: ICON.checks };
  }
  return { status: 'sent', label: 'Sent', icon: ICON.check };
}

function renderConversation(): void {
  if (!conv || !openId || !client) return;
  const c = client.conversation(openId);
  const list = conv.list;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const fromBottom = list.scrollHeight - list.scrollTop;
  const me = session!.user.id;
  const msgs = c.messages;
  const firstSeq = msgs.find((m) => m.status === 'sent')?.seq;
  const canLoadOlder = c.hasMore && (firstSeq === undefined ? c.seq > 0 : firstSeq > 1);
  const lastMine = [...msgs].reverse().find((m) => m.senderId === me && m.kind === 'user');

  const nodes: HTMLElement[] = [];
  if (canLoadOlder) {
    nodes.push(
      h(
        'div',
        { class: 'older' },
        h(
          'button',
          {
            class: 'btn ghost sm',
            'data-testid': 'load-older',
            disabled: loadingOlder,
            onclick: () => {
              loadingOlder = true;
              renderConversation();
              c.loadOlder(PAGE)
                .catch(() => undefined)
                .finally(() => {
                  loadingOlder = false;
                  renderConversation();
                });
            },
          },
          loadingOlder ? 'Loading…' : 'Load older messages',
        ),
      ),
    );
  } else if (msgs.length > 0) {
    nodes.push(h('div', { class: 'start' }, 'This is the beginning of the conversation.'));
  }
  let prev: ClientMessage | undefined;
  let prevDay = '';
  const isDm = metas.get(c.id)?.kind === 'dm';
  // A reset the user must know about sits after the messages the server held when it happened.
  const reset = resets.get(c.id);
  let resetPlaced = reset === undefined;
  const placeReset = () => {
    if (resetPlaced || reset === undefined) return;
    nodes.push(resetNotice(reset));
    resetPlaced = true;
    prev = undefined;
  };
  for (const m of msgs) {
    if (m.status !== 'sent' || m.seq > (reset?.seq ?? 0)) placeReset();
    const day = new Date(m.createdAt).toDateString();
    if (day !== prevDay) {
      nodes.push(
        h(
          'div',
          { class: 'day' },
          h('span', {}, shortTime(m.createdAt).includes(':') ? 'Today' : shortTime(m.createdAt)),
        ),
      );
      prevDay = day;
      prev = undefined;
    }
    if (m.kind === 'system') {
      nodes.push(
        h(
          'div',
          {
            class: 'system',
            'data-testid': 'message',
            'data-kind': 'system',
            'data-seq': String(m.seq ?? ''),
          },
          h('span', { 'data-testid': 'message-text' }, m.text),
        ),
      );
      prev = undefined;
      continue;
    }
    const mine = m.senderId === me;
    const grouped =
      prev !== undefined &&
      prev.senderId === m.senderId &&
      m.createdAt - prev.createdAt < 5 * 60_000;
    const st = mine ? statusOf(m, c) : undefined;
    nodes.push(
      h(
        'div',
        {
          class: `msg ${mine ? 'mine' : 'theirs'}${grouped ? ' grouped' : ''}${st ? ` ${st.status}` : ''}`,
          'data-testid': 'message',
          'data-status': st?.status ?? 'received',
          'data-seq': m.seq === undefined ? undefined : String(m.seq),
          'data-client-msg-id': m.clientMsgId,
          'data-sender': m.senderId,
        },
        !mine &&
          (grouped ? h('span', { class: 'avatar-gap' }) : avatar(m.senderId, { size: 'sm' })),
        h(
          'div',
          { class: 'msg-col' },
          !mine &&
            !grouped &&
            !isDm &&
            h(
              'span',
              { class: 'sender' },
              (m.status === 'sent' ? m.sender?.name : undefined) ?? userName(m.senderId),
            ),
          h(
            'div',
            { class: 'bubble', title: new Date(m.createdAt).toLocaleString() },
            h('span', { class: 'text', 'data-testid': 'message-text' }, m.text),
            h(
              'span',
              { class: 'meta' },
              timeOf(m.createdAt),
              st &&
                h(
                  'span',
                  { class: `tick ${st.status}`, title: st.label, 'data-testid': 'message-status' },
                  svg(st.icon),
                ),
            ),
          ),
          st?.status === 'failed' &&
            h(
              'span',
              { class: 'failed-row' },
              m.status === 'failed' && m.error ? `Not sent: ${m.error.message}` : 'Not sent',
              ' · ',
              h(
                'button',
                {
                  class: 'link',
                  'data-testid': 'retry',
                  onclick: () => m.status === 'failed' && void m.retry().catch(() => undefined),
                },
                'Retry',
              ),
            ),
          st &&
            m === lastMine &&
            st.status !== 'failed' &&
            h('span', { class: `status-label ${st.status}` }, st.label),
        ),
      ),
    );
    prev = m;
  }
  placeReset();
  list.replaceChildren(...nodes);
  if (stickToBottom || nearBottom) {
    list.scrollTop = list.scrollHeight;
    stickToBottom = false;
  } else {
    list.scrollTop = list.scrollHeight - fromBottom;
  }

  const typing = c.typingUsers;
  conv.typing.replaceChildren(
    ...(typing.length > 0
      ? [
          h(
            'span',
            { class: 'typing', 'data-testid': 'typing-indicator' },
            h('span', { class: 'typing-dots' }, h('i'), h('i'), h('i')),
            `${typing.map(firstName).join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`,
          ),
        ]
      : []),
  );
  markOpenRead();
}

function resetNotice(notice: ResetNotice): HTMLElement {
  const text = resetText(notice, timeOf(notice.at));
  return h(
    'div',
    {
      class: `reset-notice ${notice.reason}`,
      role: 'status',
      'data-testid': 'reset-notice',
      'data-reason': notice.reason,
    },
    svg(ICON.reset),
    h('div', { class: 'reset-text' }, h('strong', {}, text.title), h('span', {}, text.body)),
    h(
      'button',
      {
        class: 'link',
        'data-testid': 'reset-dismiss',
        onclick: () => {
          resets.dismiss(notice.conversationId);
          renderConversation();
          renderInbox();
        },
      },
      'Dismiss',
    ),
  );
}

function markOpenRead(): void {
  if (!client || !openId || document.visibilityState !== 'visible') return;
  const c = client.conversation(openId);
  if (c.unreadCount > 0 || c.readSeq < c.seq) c.markRead();
}
document.addEventListener('visibilitychange', markOpenRead);

// --- new conversation --------------------------------------------------------------------------

function openNewConversation(): void {
  if (!client || !session) return;
  const close = () => els.modal.replaceChildren();
  const others = [...users.values()].filter((u) => u.id !== session!.user.id);
  els.modal.replaceChildren(
    h(
      'div',
      {
        class: 'modal-backdrop',
        onclick: (ev: Event) => ev.target === ev.currentTarget && close(),
      },
      h(
        'div',
        {
          class: 'modal',
          role: 'dialog',
          'aria-label': 'New conversation',
          'data-testid': 'new-conversation-dialog',
        },
        h(
          'header',
          {},
          h('h3', {}, 'New conversation'),
          h('button', { class: 'icon-btn', onclick: close, title: 'Close' }, '✕'),
        ),
        h(
          'p',
          { class: 'muted' },
          'Start a direct conversation. It appears live for the other person.',
        ),
        h(
          'ul',
          { class: 'user-list' },
          others.map((u) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  class: 'user-pick',
                  'data-testid': `new-conversation-${u.id}`,
                  onclick: async () => {
                    const meta = await api<ConversationMeta>('/api/conversations', {
                      method: 'POST',
                      body: JSON.stringify({ userId: u.id }),
                    });
                    metas.set(meta.id, meta);
                    client?.conversation(meta.id);
                    close();
                    openConversation(meta.id);
                  },
                },
                avatar(u.id, { presence: true }),
                h(
                  'span',
                  { class: 'who' },
                  h('strong', {}, u.name),
                  h('span', { class: 'muted' }, u.title),
                ),
                h('span', { class: 'chev' }, '›'),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// --- boot --------------------------------------------------------------------------------------

async function boot(): Promise<void> {
  try {
    const list = (await (await fetch('/api/users')).json()) as User[];
    users = new Map(list.map((u) => [u.id, u]));
  } catch {
    root.textContent = 'Cannot reach the server. Retrying…';
    setTimeout(() => void boot(), 2000);
    return;
  }
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved) {
    try {
      session = JSON.parse(saved) as Session;
      await api('/api/me'); // still valid? (a restarted demo process has a new secret)
    } catch (err) {
      if (session === undefined) return; // 401: signed out, sign-in shown
      if (err instanceof SyntaxError) return signOut();
      // The server is unreachable (restarting?): keep the session and try again.
      root.textContent = 'Cannot reach the server. Retrying…';
      setTimeout(() => void boot(), 2000);
      return;
    }
    await startApp();
    return;
  }
  renderSignIn();
}

void boot();
