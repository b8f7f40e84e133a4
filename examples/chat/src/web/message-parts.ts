/**
 * The parts of a message bubble that come from the message lifecycle: the quoted message it
 * answers, its image, its reactions, the actions on it (reply, react, edit, delete) and the
 * inline editor.
 */
import type { ClientMessage, Conversation, StoredMessage } from '@parley/client';
import { attachmentOf, fitted } from './attachments.js';
import { h, ICON, svg } from './dom.js';
import { deleteMessage, EMOJIS, editMessage, reactionsOf, reactTo } from './operations.js';
import { app, firstName, userName } from './state.js';

/** What the bubble asks of the conversation view. */
export interface MessageHandlers {
  /** Re-render the message list (UI state changed). */
  rerender(): void;
  /** Answer `m` in the composer. */
  reply(m: StoredMessage): void;
  /** Scroll to the message with `seq` (paging older ones in if needed) and highlight it. */
  jumpTo(seq: number): void;
  /** Show an operation's failure. */
  failed(err: unknown): void;
}

/** A short text for a message in a quote or a preview. */
export function summaryText(m: ClientMessage): string {
  if (m.status === 'sent' && m.deleted) return 'Message deleted';
  if (m.text) return m.text;
  return attachmentOf(m.data) ? '📷 Photo' : '';
}

/** The quoted message `m` answers, a button that jumps to it. */
export function replyQuote(
  c: Conversation,
  replyTo: number,
  handlers: MessageHandlers,
): HTMLElement {
  const target = c.messages.find((x) => x.seq === replyTo);
  return h(
    'button',
    {
      class: 'reply-quote',
      type: 'button',
      'data-testid': 'reply-quote',
      'data-reply-to': String(replyTo),
      title: 'Show the original message',
      onclick: () => handlers.jumpTo(replyTo),
    },
    h('strong', {}, target ? userName(target.senderId) : 'Earlier message'),
    h('span', {}, target ? summaryText(target) : 'Tap to load it'),
  );
}

export function image(m: ClientMessage): HTMLElement | undefined {
  const a = m.status === 'sent' && m.deleted ? undefined : attachmentOf(m.data);
  if (!a) return undefined;
  const size = fitted(a);
  return h(
    'a',
    { class: 'attachment', href: a.url, target: '_blank', rel: 'noopener' },
    h('img', {
      src: a.url,
      alt: a.name,
      'data-testid': 'message-image',
      ...(size.width ? { width: size.width, height: size.height } : {}),
    }),
  );
}

export function reactionRow(m: StoredMessage, handlers: MessageHandlers): HTMLElement | undefined {
  const me = app.session?.user.id ?? '';
  const list = reactionsOf(m);
  if (list.length === 0 || m.deleted) return undefined;
  return h(
    'div',
    { class: 'reactions' },
    list.map(([emoji, users]) => {
      const mine = users.includes(me);
      return h(
        'button',
        {
          class: `reaction${mine ? ' mine' : ''}`,
          type: 'button',
          'data-testid': 'reaction',
          'data-emoji': emoji,
          'data-count': String(users.length),
          'aria-pressed': String(mine),
          title: users.map(firstName).join(', '),
          onclick: () => reactTo(m, emoji, !mine).catch(handlers.failed),
        },
        emoji,
        h('span', { class: 'count' }, String(users.length)),
      );
    }),
  );
}

/** Reply, react, and for the user's own messages edit and delete. */
export function actionBar(m: StoredMessage, mine: boolean, handlers: MessageHandlers): HTMLElement {
  const btn = (testid: string, label: string, icon: string, onclick: () => void) =>
    h(
      'button',
      { class: 'icon-btn xs', type: 'button', 'data-testid': testid, title: label, onclick },
      svg(icon),
      h('span', { class: 'sr-only' }, label),
    );
  const picking = app.picking === m.seq;
  const open = picking || app.selected === m.seq;
  return h(
    'div',
    { class: `msg-actions${open ? ' open' : ''}`, 'data-testid': 'message-actions' },
    btn('action-reply', 'Reply', ICON.reply, () => handlers.reply(m)),
    btn('action-react', 'React', ICON.smile, () => {
      app.picking = picking ? undefined : m.seq;
      handlers.rerender();
    }),
    mine &&
      btn('action-edit', 'Edit', ICON.edit, () => {
        app.editing = m.seq;
        app.picking = undefined;
        handlers.rerender();
      }),
    mine &&
      btn('action-delete', 'Delete', ICON.trash, () => {
        deleteMessage(m).catch(handlers.failed);
      }),
    picking &&
      h(
        'div',
        {
          class: 'emoji-picker',
          role: 'menu',
          'data-testid': 'emoji-picker',
          onkeydown: (ev: Event) => {
            if ((ev as KeyboardEvent).key !== 'Escape') return;
            app.picking = undefined;
            handlers.rerender();
          },
        },
        EMOJIS.map((emoji) => {
          const on = !(m.reactions?.[emoji] ?? []).includes(app.session?.user.id ?? '');
          return h(
            'button',
            {
              type: 'button',
              role: 'menuitem',
              'data-testid': `react-${emoji}`,
              'aria-label': `React ${emoji}`,
              onclick: () => {
                app.picking = undefined;
                handlers.rerender();
                reactTo(m, emoji, on).catch(handlers.failed);
              },
            },
            emoji,
          );
        }),
      ),
  );
}

/** The editor on screen: kept across re-renders, so a message arriving keeps what is typed. */
let open: { seq: number; conversationId: string; el: HTMLElement } | undefined;

/** The inline editor of the user's message: Enter saves, Escape cancels. */
export function editor(m: StoredMessage, handlers: MessageHandlers): HTMLElement {
  if (open?.seq === m.seq && open.conversationId === m.conversationId) return open.el;
  const input = h('textarea', {
    class: 'edit-input',
    rows: 2,
    'data-testid': 'edit-input',
    'aria-label': 'Edit message',
  }) as HTMLTextAreaElement;
  input.value = m.text;
  const done = () => {
    open = undefined;
    app.editing = undefined;
    handlers.rerender();
  };
  const save = () => {
    const text = input.value.trim();
    done();
    if (text && text !== m.text) editMessage(m, text).catch(handlers.failed);
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      save();
    } else if (ev.key === 'Escape') done();
  });
  queueMicrotask(() => {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  });
  const el = h(
    'div',
    { class: 'editor' },
    input,
    h(
      'div',
      { class: 'editor-buttons' },
      h('button', { class: 'btn ghost sm', type: 'button', onclick: done }, 'Cancel'),
      h(
        'button',
        { class: 'btn primary sm', type: 'button', 'data-testid': 'edit-save', onclick: save },
        'Save',
      ),
    ),
  );
  open = { seq: m.seq, conversationId: m.conversationId, el };
  return el;
}
