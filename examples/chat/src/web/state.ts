/**
 * The page's state, in one object every module reads and writes (no framework, no store), and the
 * small lookups on it (names, titles).
 */
import type { ConnectionState, ParleyClient } from '@parley/client';
import { shownState } from './connectivity.js';
import { ResetNotices } from './resets.js';

export interface User {
  id: string;
  name: string;
  title: string;
  color: string;
}

export interface ConversationMeta {
  id: string;
  kind: 'dm' | 'group' | 'support';
  title: string;
  members: string[];
}

export interface Session {
  token: string;
  user: User;
}

export const SESSION_KEY = 'parley-demo:session';
/** Messages per history page. */
export const PAGE = 30;

export const root = document.getElementById('root')!;

export const app = {
  users: new Map<string, User>(),
  metas: new Map<string, ConversationMeta>(),
  session: undefined as Session | undefined,
  client: undefined as ParleyClient | undefined,
  /** The conversation on screen. */
  openId: undefined as string | undefined,
  openUnsub: undefined as (() => void) | undefined,
  /** Shown on the sign-in page (why the user was signed out). */
  notice: undefined as string | undefined,
  loadingOlder: false,
  /** Scroll the message list to the bottom on its next render. */
  stickToBottom: true,
  resets: new ResetNotices(),
};

/** The state on screen (see connectivity.ts): the browser's `offline` wins over the client's state. */
export const currentState = (): ConnectionState => shownState(app.client?.state ?? 'connecting');

export const userName = (id: string) =>
  app.users.get(id)?.name ?? (id === 'system' ? 'Parley' : id);
export const firstName = (id: string) => userName(id).split(' ')[0] ?? id;

export function peerOf(meta: ConversationMeta): string | undefined {
  return meta.kind === 'dm' ? meta.members.find((m) => m !== app.session?.user.id) : undefined;
}

export function titleOf(meta: ConversationMeta | undefined, id: string): string {
  if (!meta) return id;
  if (meta.kind === 'dm') return userName(peerOf(meta) ?? id);
  return meta.title;
}
