/**
 * The demo page: plain TypeScript + DOM on top of @parley/client. Bundled by the server with
 * esbuild at startup. `data-testid` attributes are what the e2e tests drive.
 *
 * This file boots the page; the rest is split by what it draws: state.ts (the page's state),
 * signin.ts, shell.ts (client, sidebar, connection), inbox.ts, conversation.ts (message list),
 * header.ts, bubble.ts (one message), composer.ts, new-conversation.ts.
 */
import { api } from './api.js';
import { openConversation } from './conversation.js';
import { markOpenRead } from './read.js';
import { conversationInHash, renderStatus, startApp } from './shell.js';
import { renderSignIn, signOut } from './signin.js';
import { app, metaOf, root, SESSION_KEY, type Session, type User } from './state.js';

// The browser's network signals change what the page shows at once (connectivity.ts).
for (const type of ['online', 'offline']) window.addEventListener(type, () => renderStatus());

// Browser back/forward (and the phone layout's back button) move between inbox and conversation.
window.addEventListener('popstate', () => {
  if (!app.client) return;
  const id = conversationInHash();
  const next = metaOf(id) ? id : undefined;
  if (next !== app.openId) openConversation(next, 'none');
});

document.addEventListener('visibilitychange', markOpenRead);

async function boot(): Promise<void> {
  try {
    const list = (await (await fetch('/api/users')).json()) as User[];
    app.users = new Map(list.map((u) => [u.id, u]));
  } catch {
    root.textContent = 'Cannot reach the server. Retrying…';
    setTimeout(() => void boot(), 2000);
    return;
  }
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved) {
    try {
      app.session = JSON.parse(saved) as Session;
      await api('/api/me'); // still valid? (a restarted demo process has a new secret)
    } catch (err) {
      if (app.session === undefined) return; // 401: signed out, sign-in shown
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
