/**
 * The app's own data, as the hand-written server had it: users with their session tokens, and
 * conversations with their members. In a real app: your database.
 */
export interface Directory {
  /** The user a session token belongs to. */
  userOf(token: string): string | undefined;
  conversationsOf(userId: string): string[];
  membersOf(conversationId: string): string[];
  addMember(conversationId: string, userId: string): void;
}

export function createDirectory(): Directory {
  const tokens = new Map([
    ['alice-token', 'alice'],
    ['bob-token', 'bob'],
    ['carol-token', 'carol'],
  ]);
  const conversations = new Map<string, Set<string>>([
    ['dm-alice-bob', new Set(['alice', 'bob'])],
    ['team', new Set(['alice', 'bob', 'carol'])],
    ['design', new Set(['alice'])],
  ]);
  return {
    userOf: (token) => tokens.get(token),
    conversationsOf: (userId) =>
      [...conversations].filter(([, members]) => members.has(userId)).map(([id]) => id),
    membersOf: (conversationId) => [...(conversations.get(conversationId) ?? [])],
    addMember(conversationId, userId) {
      const members = conversations.get(conversationId) ?? new Set<string>();
      members.add(userId);
      conversations.set(conversationId, members);
    },
  };
}
