/**
 * Membership and control records in the Redis engine: a conversation's members (a set), its
 * recent removals, and a user's last kick, all ordered by the control mark (one counter for the
 * whole deployment, `P ctl-mark`). A session start reads the mark first; a removal or kick taken
 * after it is seen by the session's re-check (see `control-scripts.ts`).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Engine } from '../types.js';
import type { KeyNames } from './keys.js';
import type { ParleyCommands } from './scripts.js';

/** What the engine hands over: its connection, key names and settings. */
export interface MembershipDeps {
  redis: (Redis | Cluster) & ParleyCommands;
  names: KeyNames;
  keys(conversationId: string): { members: string; removed: string; version: string };
  /** How long removal and kick records are kept (ms). */
  controlTtl: number;
  /** Removal records kept per conversation. */
  maxRemovals: number;
}

export type MembershipMethods = Pick<
  Engine,
  | 'addMembers'
  | 'removeMembers'
  | 'restoreMember'
  | 'isMember'
  | 'members'
  | 'controlMark'
  | 'recordKick'
  | 'kickedSince'
>;

/** Splits ids into script-sized batches (Lua's `unpack` takes a few thousand values at most). */
function* batches(ids: readonly string[], size = 500): Generator<string[]> {
  for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
}

export function redisMembership({
  redis,
  names,
  keys,
  controlTtl,
  maxRemovals,
}: MembershipDeps): MembershipMethods {
  const markKey = names.mark;
  return {
    // Each batch bumps the membership version; the last one is returned (a version above every
    // batch's, and below whatever change comes after this call).
    async addMembers(conversationId, userIds) {
      const k = keys(conversationId);
      let version: number | undefined;
      for (const batch of batches(userIds))
        version = Number(await redis.parleyAddMembers(k.members, k.removed, k.version, ...batch));
      return version;
    },

    async removeMembers(conversationId, userIds) {
      const k = keys(conversationId);
      let version: number | undefined;
      for (const batch of batches(userIds)) {
        // The mark is taken first, in its own command (it is one key for the whole cluster):
        // a session start that reads a mark below it is protected against this removal.
        const mark = await redis.incr(markKey);
        version = Number(
          await redis.parleyRemoveMembers(
            k.members,
            k.removed,
            k.version,
            String(mark),
            String(controlTtl),
            String(maxRemovals),
            ...batch,
          ),
        );
      }
      return version;
    },

    async restoreMember(conversationId, userId, since) {
      const k = keys(conversationId);
      const r = (await redis.parleyRestoreMember(
        k.members,
        k.removed,
        k.version,
        userId,
        String(since),
      )) as [number, string];
      return { member: Number(r[0]) === 1, version: Number(r[1]) };
    },

    async isMember(conversationId, userId) {
      return (await redis.sismember(keys(conversationId).members, userId)) === 1;
    },

    async members(conversationId) {
      return redis.smembers(keys(conversationId).members);
    },

    async controlMark() {
      return Number((await redis.get(markKey)) ?? 0);
    },

    async recordKick(userId, kick) {
      // Mark first, then the record (see removeMembers): no command touches two slots.
      const mark = await redis.incr(markKey);
      await redis.set(
        names.user(userId).kick,
        `${mark}\n${kick.code}\n${kick.reason}`,
        'PX',
        Math.max(1, Math.floor(controlTtl)),
      );
    },

    async kickedSince(userId, since) {
      const rec = await redis.get(names.user(userId).kick);
      if (rec === null) return undefined;
      const [m, code, ...reason] = rec.split('\n');
      if (Number(m) <= since) return undefined;
      return { code: Number(code), reason: reason.join('\n') };
    },
  };
}
