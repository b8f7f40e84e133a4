/** The demo app's own REST API (sign-in, users, conversations), authenticated with the session. */
import { signOut } from './signin.js';
import { app, type ConversationMeta } from './state.js';

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(app.session ? { authorization: `Bearer ${app.session.token}` } : {}),
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
export async function loadMetas(replace = false): Promise<void> {
  const list = await api<ConversationMeta[]>('/api/conversations');
  if (replace) app.metas.clear();
  for (const m of list) app.metas.set(m.id, m);
}
