/**
 * Where the standalone server keeps the conversations a token claimed (membership mode `claim`),
 * by user id. They must be readable on every process (issue 13: the presence sweep that announces
 * a user offline runs on any process and asks `conversationsOf`; a per-process map told nobody
 * when the user had connected elsewhere) and bounded: in Redis next to the engine's keys, one
 * expiring key per user; with the memory engine (one process) in a bounded, expiring map.
 */
import type { Engine } from '@parley/server-adapter';

/** Conversations the token carried for a user, shared by every process of one deployment. */
export interface ClaimStore {
  set(userId: string, conversationIds: readonly string[]): Promise<void>;
  get(userId: string): Promise<readonly string[] | undefined>;
}

/** How long a claim is kept after the last token that carried it. */
export const CLAIM_TTL_MS = 24 * 3600_000;
/** Most claims the in-memory store keeps (the least recently set are dropped first). */
export const MAX_MEMORY_CLAIMS = 100_000;

/** The claims of one process, bounded in count and age. */
export function memoryClaimStore(
  maxEntries = MAX_MEMORY_CLAIMS,
  ttlMs = CLAIM_TTL_MS,
  now: () => number = Date.now,
): ClaimStore & { readonly size: number } {
  const entries = new Map<string, { ids: readonly string[]; at: number }>();
  return {
    get size() {
      return entries.size;
    },
    async set(userId, conversationIds) {
      entries.delete(userId);
      entries.set(userId, { ids: [...conversationIds], at: now() });
      const cutoff = now() - ttlMs;
      for (const [k, e] of entries) {
        if (entries.size <= maxEntries && e.at > cutoff) break;
        entries.delete(k);
      }
    },
    async get(userId) {
      const e = entries.get(userId);
      if (e === undefined || e.at <= now() - ttlMs) return undefined;
      return e.ids;
    },
  };
}

/** What the Redis engine exposes that the claim store uses. */
interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/** Claims as Redis keys `<keyPrefix>claims:<userId>` (JSON), each expiring after `ttlMs`. */
export function redisClaimStore(
  redis: RedisLike,
  keyPrefix: string,
  ttlMs = CLAIM_TTL_MS,
): ClaimStore {
  const key = (userId: string) => `${keyPrefix}claims:${userId}`;
  return {
    async set(userId, conversationIds) {
      await redis.set(key(userId), JSON.stringify(conversationIds), 'PX', ttlMs);
    },
    async get(userId) {
      const v = await redis.get(key(userId));
      if (v === null) return undefined;
      const ids: unknown = JSON.parse(v);
      return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
    },
  };
}

/** The claim store that fits the engine: Redis when the engine has a Redis connection. */
export function createClaimStore(engine: Engine): ClaimStore {
  const e = engine as Engine & { redis?: RedisLike; keyPrefix?: string };
  if (e.redis !== undefined && typeof e.keyPrefix === 'string')
    return redisClaimStore(e.redis, e.keyPrefix);
  return memoryClaimStore();
}
