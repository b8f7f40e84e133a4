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

// --- tiny DOM helper ---------------------------------------------------------------------------

type Child = Node | string | false | null | undefined;
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === false || c === null || c === undefined) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

const svg = (path: string, cls = 'icon') => {
  const s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('class', cls);
  s.setAttribute('aria-hidden', 'true');
  s.innerHTML = path;
  return s;
};
const ICON = {
  send: '<path d="M3.4 20.4 21 12 3.4 3.6 3.4 10.2 15 12 3.4 13.8z" fill="currentColor"/>',
  plus: '<path d="M12 5v14M5 12h14" stroke="currentColor" stroke-width="2" stroke-linecap="round" fill="none"/>',
  clock:
    '<circle cx="12" cy="12" r="8" stroke="currentColor" stroke-width="2" fill="none"/><path d="M12 8v4l3 2" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>',
  check:
    '<path d="M5 12.5 9.5 17 19 7.5" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  checks:
    '<path d="M2.5 12.5 7 17l9.5-9.5M11 15.8l1.2 1.2 9.5-9.5" stroke="currentColor" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  alert:
    '<circle cx="12" cy="12" r="9" fill="currentColor"/><path d="M12 7.5v5.5M12 16.2v.3" stroke="white" stroke-width="2.2" stroke-linecap="round"/>',
  hash: '<path d="M9 4 7 20M17 4l-2 16M4.5 9h16M3.5 15h16" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round"/>',
  headset:
    '<path d="M4 14v-2a8 8 0 0 1 16 0v2" stroke="currentColor" stroke-width="2" fill="none"/><rect x="3" y="13" width="4" height="6" rx="1.5" fill="currentColor"/><rect x="17" y="13" width="4" height="6" rx="1.5" fill="currentColor"/>',
  logout:
    '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 16l-4-4 4-4M6 12h10" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round"/>',
  chat: '<path d="M5 5h14a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-8l-5 4v-4H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z" stroke="currentColor" stroke-width="1.6" fill="none" stroke-linejoin="round"/>',
};

// --- formatting --------------------------------------------------------------------------------

const initials = (name: string) =>
  name
    .split(/\s+/)
    .map((p) => p[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();

function timeOf(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

function shortTime(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeOf(ms);
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function lastSeen(ms: number | undefined): string {
  if (ms === undefined) return 'Offline';
  const min = Math.round((Date.now() - ms) / 60_000);
  if (min < 1) return 'Last seen just now';
  if (min < 60) return `Last seen ${min} min ago`;
  return `Last seen at ${shortTime(ms)}`;
}

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

async function loadMetas(): Promise<void> {
  const list = await api<ConversationMeta[]>('/api/conversations');
  for (const m of list) metas.set(m.id, m);
}

function avatar(userId: string, opts: { size?: 'sm' | 'md' | 'lg'; presence?: boolean } = {}) {
  const u = users.get(userId);
  const online = client?.presence(userId)?.online === true;
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
        class: `presence ${online ? 'on' : 'off'}`,
        'data-testid': 'presence-dot',
        'data-online': String(online),
        title: online ? 'Online' : 'Offline',
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

  c.on('state', ({ to, code }) => {
    if (to === 'closed' && client === c && (code === 4401 || code === 4403)) {
      signOut('Your session is no longer valid. Please sign in again.');
      return;
    }
    renderConnection(to);
  });
  c.on('reconnect', ({ code }) => {
    renderConnection(c.state);
    // 4401: the hub no longer accepts our token (e.g. a new demo process with a new secret). Ask
    // the API; a 401 there signs out instead of retrying with a dead token forever.
    if (code === 4401) void api('/api/me').catch(() => undefined);
  });
  c.on('inbox', () => {
    renderInbox();
    markOpenRead();
  });
  c.on('presence', () => {
    renderInbox();
    if (openId) renderHeader();
  });
  // A reset (first connect past `maxReplay`, or the history epoch changed): page the history in.
  c.on(
    'reset',
    ({ conversationId }) =>
      void c
        .conversation(conversationId)
        .loadOlder(PAGE)
        .catch(() => undefined),
  );
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
  renderConnection(c.state);
  renderInbox();
  const fromHash = decodeURIComponent(location.hash.replace(/^#\/c\//, ''));
  openConversation(metas.has(fromHash) ? fromHash : undefined);
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
      return h(
        'li',
        {},
        h(
          'button',
          {
            class: `inbox-item${active ? ' active' : ''}${unread > 0 ? ' unread' : ''}`,
            'data-testid': `inbox-item-${r.conversationId}`,
            'data-unread': String(unread),
            onclick: () => openConversation(r.conversationId),
          },
          convAvatar(meta),
          h(
            'span',
            { class: 'inbox-body' },
            h(
              'span',
              { class: 'inbox-top' },
              h('span', { class: 'inbox-title' }, titleOf(meta, r.conversationId)),
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

function openConversation(id: string | undefined): void {
  openUnsub?.();
  openUnsub = undefined;
  openId = id;
  history.replaceState(null, '', id ? `#/c/${encodeURIComponent(id)}` : location.pathname);
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
            'Send',
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
  let sub: string;
  if (meta?.kind === 'dm') {
    const peer = peerOf(meta)!;
    const p = client.presence(peer);
    sub = p?.online ? 'Online' : lastSeen(p?.lastSeenAt);
  } else {
    const members = meta?.members ?? [];
    const online = members.filter(
      (m) => m === session?.user.id || client?.presence(m)?.online,
    ).length;
    sub = `${members.length} members · ${online} online`;
  }
  conv.header.replaceChildren(
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
  for (const m of msgs) {
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
