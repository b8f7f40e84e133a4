/**
 * The open conversation: which one is open (and the URL / history entry for it), its message list
 * (load older, day separators, reset notice, typing row) and its composer.
 */
import type { ClientMessage, Conversation } from '@parley/client';
import { bubble, systemLine } from './bubble.js';
import { type Composer, createComposer } from './composer.js';
import { h, ICON, svg } from './dom.js';
import { shortTime, timeOf } from './format.js';
import { renderHeaderInto } from './header.js';
import { renderInbox } from './inbox.js';
import type { MessageHandlers } from './message-parts.js';
import { markOpenRead } from './read.js';
import { type ResetNotice, resetText } from './resets.js';
import { els } from './shell.js';
import { app, firstName, metaOf, PAGE, root, titleOf } from './state.js';

let conv:
  | {
      header: HTMLElement;
      list: HTMLElement;
      typing: HTMLElement;
      toast: HTMLElement;
      composer: Composer;
    }
  | undefined;

/** What a message bubble may ask of the view (see message-parts.ts). */
const handlers: MessageHandlers = {
  rerender: () => renderConversation(),
  reply: (m) => conv?.composer.replyTo(m),
  jumpTo: (seq) => void jumpTo(seq),
  failed: (err) => {
    if (!conv) return;
    conv.toast.textContent = `Not done: ${err instanceof Error ? err.message : String(err)}`;
    conv.toast.classList.remove('hidden');
  },
};

/** Shows message `seq` of the open conversation, paging older messages in until it is held. */
async function jumpTo(seq: number): Promise<void> {
  const { client, openId } = app;
  if (!conv || !client || !openId) return;
  const c = client.conversation(openId);
  for (let pages = 0; pages < 20 && !c.messages.some((m) => m.seq === seq) && c.hasMore; pages++) {
    if ((await c.loadOlder(PAGE)).length === 0) break;
  }
  const el = conv?.list.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"]`);
  if (!el) return;
  app.highlighted = seq;
  renderConversation();
  const shown = conv?.list.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"]`);
  shown?.scrollIntoView({ block: 'center' });
  shown?.querySelector<HTMLElement>('.bubble')?.focus({ preventScroll: true });
}

/**
 * Shows conversation `id` (or the inbox's empty state). `push` adds a history entry, so that the
 * browser's back button (on a phone: the way back to the list) returns to the inbox.
 */
export function openConversation(
  id: string | undefined,
  historyMode: 'push' | 'replace' | 'none' = 'replace',
): void {
  app.openUnsub?.();
  app.openUnsub = undefined;
  app.editing = undefined;
  app.picking = undefined;
  app.replyTo = undefined;
  app.highlighted = undefined;
  app.selected = undefined;
  const from = app.openId;
  app.openId = id;
  const client = app.client;
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
  const composer = createComposer(c, `Message ${titleOf(metaOf(id), id)}`, () => {
    app.stickToBottom = true;
  });
  conv = {
    header: h('header', { class: 'conv-head' }),
    list: h('div', { class: 'messages', 'data-testid': 'messages' }),
    typing: h('div', { class: 'typing-row' }),
    toast: h('div', {
      class: 'toast hidden',
      role: 'alert',
      'data-testid': 'operation-error',
      onclick: (ev: Event) => (ev.currentTarget as HTMLElement).classList.add('hidden'),
    }),
    composer,
  };
  els.main.replaceChildren(
    h(
      'div',
      { class: 'conversation', 'data-testid': 'conversation', 'data-conversation-id': id },
      conv.header,
      conv.list,
      h('footer', { class: 'composer' }, conv.toast, conv.typing, composer.box),
    ),
  );
  app.stickToBottom = true;
  app.openUnsub = c.on('update', () => renderConversation());
  // Cold start holds no messages: the newest page comes now (or at `synced`), and again after a
  // reset while the conversation is open.
  c.open(PAGE).catch(() => undefined);
  renderHeader();
  renderConversation();
  markOpenRead();
  renderInbox();
  composer.input.focus();
}

export function renderHeader(): void {
  if (conv && app.openId) renderHeaderInto(conv.header, app.openId, backToInbox);
}

/** The phone layout's back button: the previous history entry when we pushed one, else the list. */
function backToInbox(): void {
  if ((history.state as { parley?: string } | null)?.parley === 'conversation') history.back();
  else openConversation(undefined);
}

function loadOlderButton(c: Conversation): HTMLElement {
  return h(
    'div',
    { class: 'older' },
    h(
      'button',
      {
        class: 'btn ghost sm',
        'data-testid': 'load-older',
        disabled: app.loadingOlder,
        onclick: () => {
          app.loadingOlder = true;
          renderConversation();
          c.loadOlder(PAGE)
            .catch(() => undefined)
            .finally(() => {
              app.loadingOlder = false;
              renderConversation();
            });
        },
      },
      app.loadingOlder ? 'Loading…' : 'Load older messages',
    ),
  );
}

export function renderConversation(): void {
  const { client, openId } = app;
  if (!conv || !openId || !client) return;
  const c = client.conversation(openId);
  const list = conv.list;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const fromBottom = list.scrollHeight - list.scrollTop;
  const me = app.session!.user.id;
  const msgs = c.messages;
  const firstSeq = msgs.find((m) => m.status === 'sent')?.seq;
  const canLoadOlder = c.hasMore && (firstSeq === undefined ? c.seq > 0 : firstSeq > 1);
  const lastMine = [...msgs].reverse().find((m) => m.senderId === me && m.kind === 'user');

  const nodes: HTMLElement[] = [];
  if (canLoadOlder) nodes.push(loadOlderButton(c));
  else if (msgs.length > 0) {
    nodes.push(h('div', { class: 'start' }, 'This is the beginning of the conversation.'));
  }
  let prev: ClientMessage | undefined;
  let prevDay = '';
  const isDm = metaOf(c.id)?.kind === 'dm';
  // A reset the user must know about sits after the messages the server held when it happened.
  const reset = app.resets.get(c.id);
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
      nodes.push(systemLine(m));
      prev = undefined;
      continue;
    }
    const grouped =
      prev !== undefined &&
      prev.senderId === m.senderId &&
      m.createdAt - prev.createdAt < 5 * 60_000;
    const o = { mine: m.senderId === me, grouped, isDm, last: m === lastMine };
    nodes.push(bubble(m, c, o, handlers));
    prev = m;
  }
  placeReset();
  list.replaceChildren(...nodes);
  if (app.stickToBottom || nearBottom) {
    list.scrollTop = list.scrollHeight;
    app.stickToBottom = false;
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
          app.resets.dismiss(notice.conversationId);
          renderConversation();
          renderInbox();
        },
      },
      'Dismiss',
    ),
  );
}
