/**
 * The line protocol between a remote fixture (vitest, Node) and a runtime harness (a child
 * process under Bun or Deno): one JSON object per line, on the child's stdin and stdout.
 */
import type { Members, PortableOverrides } from '../../utils/world.js';

/** Hub methods a remote fixture may call (the server API; everything async). */
export const HUB_METHODS = [
  'publish',
  'publishResult',
  'sendToUser',
  'emit',
  'join',
  'leave',
  'disconnectUser',
  'history',
  'conversationSummary',
  'updateConversation',
  'close',
] as const;
export type HubMethod = (typeof HUB_METHODS)[number];

export type Request =
  | { id: number; op: 'start'; overrides: PortableOverrides; members: Members }
  | { id: number; op: 'members'; fixture: number; members: Members }
  | { id: number; op: 'hub'; fixture: number; method: HubMethod; args: unknown[] }
  | { id: number; op: 'stats'; fixture: number }
  | { id: number; op: 'waitLog'; fixture: number; msg: string }
  | { id: number; op: 'stopServer'; fixture: number }
  | { id: number; op: 'dispose'; fixture: number };

export type Reply =
  | { id: number; ok: true; result?: unknown }
  | { id: number; ok: false; error: { name: string; message: string } };

/** The first line a harness prints. */
export interface Ready {
  ready: true;
  runtime: string;
  version: string;
}

/** What `start` answers. */
export interface Started {
  fixture: number;
  port: number;
}
