/** The inbox: one row per conversation (title, last message, time, unread badge, typing). */
import type { ClientMessage } from '@parley/client';
import { convAvatar } from './avatar.js';
import { openConversation } from './conversation.js';
import { h, ICON, svg } from './dom.js';
import { shortTime, timeOf } from './format.js';
import { summaryText } from './message-parts.js';
import { resetText } from './resets.js';
import { els } from './shell.js';
import { app, firstName, metaOf, titleOf } from './state.js';

function preview(m: ClientMessage | undefined): string {
  if (!m) return 'No messages yet';
  const me = app.session?.user.id;
  const who = m.senderId === me ? 'You: ' : m.kind === 'system' ? '' : '';
  return `${who}${summaryText(m)}`;
}

export function renderInbox(): void {
  const { client, session, openId, resets } = app;
  if (!client || !session) return;
  // The hub's inbox (summary after `welcome`: unread, last message, metadata), newest first; then
  // conversations the app's API knows that the hub has not listed yet.
  const rows = client.inbox().filter((r) => metaOf(r.conversationId));
  const known = new Set(rows.map((r) => r.conversationId));
  const extra = [...app.metas.keys()].filter((id) => !known.has(id));
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
      const meta = metaOf(r.conversationId);
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
