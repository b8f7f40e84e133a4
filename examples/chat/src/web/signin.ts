/** The sign-in page (pick a person; the server signs a session token) and signing out. */
import { api } from './api.js';
import { avatar } from './avatar.js';
import { h, ICON, svg } from './dom.js';
import { startApp } from './shell.js';
import { app, root, SESSION_KEY, type Session } from './state.js';

export function renderSignIn(): void {
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
      app.notice && h('p', { class: 'notice' }, app.notice),
      h(
        'ul',
        { class: 'user-list' },
        [...app.users.values()].map((u) =>
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
  app.session = s;
  app.notice = undefined;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  await startApp();
}

export function signOut(message?: string): void {
  app.client?.close();
  app.client = undefined;
  app.session = undefined;
  app.openId = undefined;
  app.metas.clear();
  app.resets.clear();
  sessionStorage.removeItem(SESSION_KEY);
  app.notice = message;
  history.replaceState(null, '', location.pathname);
  renderSignIn();
}
