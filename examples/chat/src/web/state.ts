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

/** A conversation as the page knows it (the hub's metadata, else the app's REST list). */
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
  /** The app's REST list (`GET /api/conversations`): the fallback of {@link metaOf}. */
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
  /** The open conversation's message being edited (its seq). */
  editing: undefined as number | undefined,
  /** The open conversation's message whose emoji picker is open (its seq). */
  picking: undefined as number | undefined,
  /** The message tapped or clicked last (its seq): its actions stay shown (touch screens). */
  selected: undefined as number | undefined,
  /** The message a reply's quote jumped to (its seq): highlighted. */
  highlighted: undefined as number | undefined,
  /** The message the composer answers (its seq). */
  replyTo: undefined as number | undefined,
};

/** The state on screen (see connectivity.ts): the browser's `offline` wins over the client's state. */
export const currentState = (): ConnectionState => shownState(app.client?.state ?? 'connecting');

export const userName = (id: string) =>
  app.users.get(id)?.name ?? (id === 'system' ? 'Parley' : id);
export const firstName = (id: string) => userName(id).split(' ')[0] ?? id;

const KINDS = ['dm', 'group', 'support'] as const;

/**
 * Conversation `id` as the page shows it: from the metadata the hub sends in the inbox
 * (`conversationMeta` on the server: title, members, `data.kind`), else from the app's REST list
 * (a conversation joined at runtime before its metadata arrives).
 */
export function metaOf(id: string): ConversationMeta | undefined {
  const meta = app.client?.conversations().find((c) => c.id === id)?.meta;
  const rest = app.metas.get(id);
  if (!meta) return rest;
  const data = meta.data as { kind?: unknown } | undefined;
  const kind = KINDS.find((k) => k === data?.kind) ?? rest?.kind ?? 'group';
  return {
    id,
    kind,
    title: meta.title ?? rest?.title ?? id,
    members: meta.members ? [...meta.members] : (rest?.members ?? []),
  };
}

export function peerOf(meta: ConversationMeta): string | undefined {
  return meta.kind === 'dm' ? meta.members.find((m) => m !== app.session?.user.id) : undefined;
}

export function titleOf(meta: ConversationMeta | undefined, id: string): string {
  if (!meta) return id;
  if (meta.kind === 'dm') return userName(peerOf(meta) ?? id);
  return meta.title;
}
