/** The "New conversation" dialog: pick a person, the app's API creates the DM. */
import { api } from './api.js';
import { avatar } from './avatar.js';
import { openConversation } from './conversation.js';
import { h } from './dom.js';
import { els } from './shell.js';
import { app, type ConversationMeta } from './state.js';

export function openNewConversation(): void {
  const { client, session } = app;
  if (!client || !session) return;
  const close = () => els.modal.replaceChildren();
  const others = [...app.users.values()].filter((u) => u.id !== session.user.id);
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
                    app.metas.set(meta.id, meta);
                    app.client?.conversation(meta.id);
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
