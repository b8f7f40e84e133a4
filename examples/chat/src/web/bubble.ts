/** One message of the open conversation: a user message's bubble, or a system line. */
import type { ClientMessage, Conversation } from '@parley/client';
import { avatar } from './avatar.js';
import { h, ICON, svg } from './dom.js';
import { timeOf } from './format.js';
import {
  actionBar,
  editor,
  image,
  type MessageHandlers,
  reactionRow,
  replyQuote,
} from './message-parts.js';
import { app, firstName, metaOf, userName } from './state.js';

export interface BubbleOptions {
  mine: boolean;
  /** Follows a message of the same sender within 5 minutes: no avatar, no name. */
  grouped: boolean;
  /** A direct conversation: no sender names. */
  isDm: boolean;
  /** The user's last message: shows its status in words. */
  last: boolean;
}

function statusOf(
  m: ClientMessage,
  c: Conversation,
): { status: string; label: string; icon: string } {
  if (m.status === 'pending') return { status: 'pending', label: 'Sending…', icon: ICON.clock };
  if (m.status === 'failed') return { status: 'failed', label: 'Not sent', icon: ICON.alert };
  const seq = m.seq ?? 0;
  const readers = [...c.reads]
    .filter(([u, r]) => u !== app.session?.user.id && r >= seq)
    .map(([u]) => u);
  if (readers.length > 0) {
    const meta = metaOf(c.id);
    const label = meta?.kind === 'dm' ? 'Read' : `Seen by ${readers.map(firstName).join(', ')}`;
    return { status: 'read', label, icon: ICON.checks };
  }
  return { status: 'sent', label: 'Sent', icon: ICON.check };
}

export function systemLine(m: ClientMessage): HTMLElement {
  return h(
    'div',
    {
      class: 'system',
      'data-testid': 'message',
      'data-kind': 'system',
      'data-seq': String(m.seq ?? ''),
    },
    h('span', { 'data-testid': 'message-text' }, m.text),
  );
}

export function bubble(
  m: ClientMessage,
  c: Conversation,
  o: BubbleOptions,
  handlers: MessageHandlers,
): HTMLElement {
  const { mine, grouped, isDm } = o;
  const st = mine ? statusOf(m, c) : undefined;
  const stored = m.status === 'sent' ? m : undefined;
  const deleted = stored?.deleted === true;
  const editing = stored !== undefined && !deleted && mine && app.editing === stored.seq;
  const edited = stored?.editedAt !== undefined && !deleted;
  return h(
    'div',
    {
      class: `msg ${mine ? 'mine' : 'theirs'}${grouped ? ' grouped' : ''}${st ? ` ${st.status}` : ''}${deleted ? ' deleted' : ''}`,
      'data-testid': 'message',
      'data-status': st?.status ?? 'received',
      'data-seq': m.seq === undefined ? undefined : String(m.seq),
      'data-client-msg-id': m.clientMsgId,
      'data-sender': m.senderId,
      'data-deleted': deleted ? 'true' : undefined,
      'data-edited': edited ? 'true' : undefined,
      'data-highlighted': stored && app.highlighted === stored.seq ? 'true' : undefined,
    },
    !mine && (grouped ? h('span', { class: 'avatar-gap' }) : avatar(m.senderId, { size: 'sm' })),
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
      editing
        ? editor(stored, handlers)
        : h(
            'div',
            {
              class: `bubble${deleted ? ' tomb' : ''}${image(m) ? ' has-image' : ''}${stored && app.highlighted === stored.seq ? ' flash' : ''}`,
              title: new Date(m.createdAt).toLocaleString(),
              // Focusable, so that a tap (phone) or Tab shows the message's actions.
              tabindex: stored && !deleted ? 0 : undefined,
              onclick: () => {
                if (!stored || app.selected === stored.seq) return;
                app.selected = stored.seq;
                handlers.rerender();
              },
            },
            m.replyTo !== undefined && !deleted && replyQuote(c, m.replyTo, handlers),
            !deleted && image(m),
            deleted
              ? h(
                  'span',
                  { class: 'text tombstone', 'data-testid': 'message-text' },
                  'Message deleted',
                )
              : h('span', { class: 'text', 'data-testid': 'message-text' }, m.text),
            h(
              'span',
              { class: 'meta' },
              edited && h('span', { class: 'edited', 'data-testid': 'edited-marker' }, 'edited'),
              timeOf(m.createdAt),
              st &&
                h(
                  'span',
                  { class: `tick ${st.status}`, title: st.label, 'data-testid': 'message-status' },
                  svg(st.icon),
                ),
            ),
          ),
      stored && reactionRow(stored, handlers),
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
        o.last &&
        st.status !== 'failed' &&
        h('span', { class: `status-label ${st.status}` }, st.label),
    ),
    stored && !deleted && !editing && actionBar(stored, mine, handlers),
  );
}
