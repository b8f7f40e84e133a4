/**
 * Presence in the Redis engine: a user's connections (a sorted set of connection id -> expiry),
 * their presence hash (grace period, last seen) and the presence deadlines the sweep claims. Users
 * are spread over presence buckets on Redis Cluster (`keys.ts`); every script touches one bucket's
 * slot, so calls over many users go out as one script per bucket.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Engine, PresenceRecord } from '../types.js';
import type { KeyNames } from './keys.js';
import { str } from './reply.js';
import type { ParleyCommands } from './scripts.js';

/** A user whose presence ended without anyone announcing it, as found by `presenceSweep`. */
export interface ExpiredPresence {
  userId: string;
  /** When the user's last connection went away or expired (ms since the Unix epoch). */
  lastSeenAt: number;
}

/** What the engine hands over: its connection, key names and settings. */
export interface PresenceDeps {
  redis: (Redis | Cluster) & ParleyCommands;
  names: KeyNames;
  now(): number;
  /** How long a user's last-seen time is kept after they go offline (ms). */
  lastSeenTtl: number;
}

export type PresenceMethods = Pick<
  Engine,
  'presenceConnect' | 'presenceRefresh' | 'presenceDisconnect' | 'presence' | 'connectedUsers'
> & {
  presenceSweep(limit?: number): Promise<ExpiredPresence[]>;
};

/** Users per `connectedUsers` script: a large conversation stays many short calls. */
const CONNECTED_BATCH = 1000;

export function redisPresence({ redis, names, now, lastSeenTtl }: PresenceDeps): PresenceMethods {
  /** Entries grouped by presence bucket (one group on a single node): one script per slot. */
  const byBucket = <T>(items: readonly T[], userOf: (item: T) => string): T[][] => {
    if (names.bucketCount === 1) return items.length === 0 ? [] : [[...items]];
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const b = names.bucketOf(userOf(item));
      const g = groups.get(b);
      if (g === undefined) groups.set(b, [item]);
      else g.push(item);
    }
    return [...groups.values()];
  };

  return {
    async presenceConnect(userId, connectionId, ttlMs) {
      const u = names.user(userId);
      const r = (await redis.parleyPresenceConnect(
        u.conns,
        u.presence,
        u.deadlines,
        connectionId,
        String(now()),
        String(ttlMs),
        userId,
      )) as unknown[];
      return { wasOnline: Number(r[0]) === 1, connections: Number(r[1]) };
    },

    async presenceRefresh(entries, ttlMs) {
      const t = String(now());
      await Promise.all(
        byBucket(entries, (e) => e.userId).map((group) => {
          const keys = [
            names.user(group[0]!.userId).deadlines,
            ...group.map((e) => names.user(e.userId).conns),
          ];
          const args = [t, String(ttlMs), ...group.flatMap((e) => [e.connectionId, e.userId])];
          return redis.parleyPresenceRefresh(keys.length, ...keys, ...args);
        }),
      );
    },

    async presenceDisconnect(userId, connectionId, graceMs) {
      const u = names.user(userId);
      const remaining = await redis.parleyPresenceDisconnect(
        u.conns,
        u.presence,
        u.deadlines,
        connectionId,
        String(now()),
        String(Math.max(0, graceMs)),
        String(lastSeenTtl),
        userId,
      );
      return { remaining: Number(remaining) };
    },

    async presence(userIds) {
      const out = new Map<string, PresenceRecord>();
      const t = String(now());
      await Promise.all(
        byBucket(userIds, (u) => u).map(async (group) => {
          const keys = group.flatMap((u) => {
            const k = names.user(u);
            return [k.conns, k.presence];
          });
          const r = (await redis.parleyPresenceRead(keys.length, ...keys, t)) as unknown[];
          group.forEach((u, i) => {
            const online = Number(r[2 * i]) === 1;
            const seen = str(r[2 * i + 1]);
            out.set(u, seen === '' ? { online } : { online, lastSeenAt: Number(seen) });
          });
        }),
      );
      return out;
    },

    async connectedUsers(userIds) {
      const t = String(now());
      const live = new Set<string>();
      await Promise.all(
        byBucket(userIds, (u) => u)
          .flatMap((g) =>
            Array.from({ length: Math.ceil(g.length / CONNECTED_BATCH) }, (_, i) =>
              g.slice(i * CONNECTED_BATCH, (i + 1) * CONNECTED_BATCH),
            ),
          )
          .map(async (group) => {
            const keys = group.map((u) => names.user(u).conns);
            const r = (await redis.parleyConnected(keys.length, ...keys, t)) as unknown[];
            group.forEach((u, i) => {
              if (Number(r[i]) > 0) live.add(u);
            });
          }),
      );
      return live;
    },

    async presenceSweep(limit = 100) {
      // Per bucket: read the due users, then claim them in one script on the bucket's slot
      // (it checks each deadline again, so two sweepers never claim the same transition).
      const t = now();
      const out: ExpiredPresence[] = [];
      const sweepBucket = async (bucket: number): Promise<void> => {
        const deadlines = names.deadlines(bucket);
        const due = await redis.zrangebyscore(deadlines, '-inf', t, 'LIMIT', 0, limit);
        if (due.length === 0) return;
        const keys = [
          deadlines,
          ...due.flatMap((u) => {
            const k = names.user(u);
            return [k.conns, k.presence];
          }),
        ];
        const r = (await redis.parleyPresenceSweep(
          keys.length,
          ...keys,
          String(t),
          String(lastSeenTtl),
          ...due,
        )) as unknown[];
        for (let i = 0; i + 1 < r.length; i += 2) {
          const seen = str(r[i + 1]);
          out.push({ userId: str(r[i]), lastSeenAt: seen === '' ? now() : Number(seen) });
        }
      };
      await Promise.all(Array.from({ length: names.bucketCount }, (_, b) => sweepBucket(b)));
      return out;
    },
  };
}
