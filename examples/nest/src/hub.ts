/**
 * The Parley hub of the Nest app, as a Nest provider (token `PARLEY_HUB`): controllers and
 * services inject it to publish, join or leave; `src/app.ts` attaches it to Nest's HTTP server.
 */
import { createHub, type Hub } from '@parley/server-adapter';

/** Injection token of the hub: `@Inject(PARLEY_HUB) hub: Hub`. */
export const PARLEY_HUB = Symbol('PARLEY_HUB');

/** Demo data; a real app reads its sessions and conversations from its database. */
const tokens = new Map([
  ['alice-token', 'alice'],
  ['bob-token', 'bob'],
]);
const conversations: Record<string, string[]> = { general: ['alice', 'bob'] };

export function createChatHub(): Hub {
  return createHub({
    authenticate: ({ token }) => {
      const userId = token === undefined ? undefined : tokens.get(token);
      return userId === undefined ? null : { userId, profile: { name: userId } };
    },
    conversationsOf: (userId) =>
      Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
    membersOf: (conversationId) => conversations[conversationId] ?? [],
  });
}
