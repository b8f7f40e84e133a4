/**
 * The Redis engine: the engine contract on one Redis, or on a Redis Cluster (sharded pub/sub),
 * shared by any number of hub processes. See the package README for deployment, memory and cost
 * per message, and `keys.ts` for the key names of both modes.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '@parley/protocol';
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { type Logger, silentLogger } from '../../logger.js';
import {
  type AppendResult,
  type Engine,
  type Envelope,
  type Head,
  type InboxEntry,
  isCountable,
  type PageResult,
  type PresenceRecord,
  type RangeResult,
  type SendClaim,
  UNREAD_INDEX_MAX,
} from '../types.js';
import { KeyNames } from './keys.js';
import { defineOperationCommands } from './operation-scripts.js';
import { redisOperations } from './operations.js';
import {
  REDIS_ENGINE_DEFAULTS,
  type RedisEngineOptions,
  type RedisEngineStatus,
} from './options.js';
import { PubSub } from './pubsub.js';
import { defineParleyCommands } from './scripts.js';

/** A user whose presence ended without anyone announcing it, as found by `presenceSweep`. */
export interface ExpiredPresence {
  userId: string;
  /** When the user's last connection went away or expired (ms since the Unix epoch). */
  lastSeenAt: number;
}

/** The Redis engine: the {@link Engine} contract plus connection status and the presence sweep. */
export interface RedisEngine extends Engine {
  /**
   * Claims the users that just went offline: their last connection was removed and the grace
   * period elapsed, or their connections expired because the process holding them died (then
   * nobody called `presenceDisconnect`). Each transition is returned exactly once, to one caller
   * on one process, so every process may call it periodically and publish what it gets.
   * @param limit At most this many users per call (per presence bucket on Redis Cluster).
   * @default 100
   */
  presenceSweep(limit?: number): Promise<ExpiredPresence[]>;
  /** Current state of the two connections. */
  status(): { commands: RedisEngineStatus['state']; subscriber: RedisEngineStatus['state'] };
  /** Calls `listener` on every connection state change. Returns the unsubscribe function. */
  onStatus(listener: (status: RedisEngineStatus) => void): () => void;
  /** The command connection (scripts are defined on it as `parley*` commands). */
  readonly redis: Redis | Cluster;
  /** Whether the engine runs on Redis Cluster (sharded pub/sub, hash-tagged keys). */
  readonly cluster: boolean;
  /** The prefix of every key and channel of this engine (`keyPrefix`). */
  readonly keyPrefix: string;
  [Symbol.asyncDispose](): Promise<void>;
}

const isRedis = (v: unknown): v is Redis | Cluster =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Redis).duplicate === 'function' &&
  typeof (v as Redis).defineCommand === 'function';

/** The connection the engine runs its commands on, from the `redis` option. */
function connect(source: RedisEngineOptions['redis']): {
  conn: Redis | Cluster;
  owned: boolean;
} {
  // Duck-typed rather than `instanceof`: the app may have its own copy of ioredis.
  if (isRedis(source)) return { conn: source, owned: false };
  if (Array.isArray(source))
    return {
      conn: new Cluster(source as ClusterNode[], { shardedSubscribers: true }),
      owned: true,
    };
  if (typeof source === 'string') return { conn: new Redis(source), owned: true };
  return { conn: new Redis(source as RedisOptions), owned: true };
}

const isCluster = (conn: Redis | Cluster): conn is Cluster =>
  (conn as { isCluster?: unknown }).isCluster === true;

/** Redis Cluster: how often the subscriber re-reads the slot map (see `followCommands`). */
const SLOTS_REFRESH_MS = 2000;

/** A fresh epoch: 12 URL-safe characters, so it can be concatenated into JSON as is. */
/** Random bytes for epoch candidates, drawn in batches: one `randomBytes` per 128 appends (issue 15). */
let epochPool = Buffer.alloc(0);
let epochAt = 0;
const newEpoch = (): string => {
  if (epochAt + 9 > epochPool.length) {
    epochPool = randomBytes(9 * 128);
    epochAt = 0;
  }
  epochAt += 9;
  return epochPool.toString('base64url', epochAt - 9, epochAt);
};

/** Splits ids into script-sized batches (Lua's `unpack` takes a few thousand values at most). */
function* batches(ids: readonly string[], size = 500): Generator<string[]> {
  for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : String(v);

/**
 * Creates the Redis engine. Pass it to the hub of every process; they then share seqs, history,
 * idempotency records, membership, read positions, presence and fan-out.
 *
 * ```ts
 * const engine = createRedisEngine({ redis: process.env.REDIS_URL });
 * const hub = createHub({ engine, ... });
 * ```
 */
export function createRedisEngine(options: RedisEngineOptions = {}): RedisEngine {
  const D = REDIS_ENGINE_DEFAULTS;
  const prefix = options.keyPrefix ?? D.keyPrefix;
  const maxMessages = options.history?.maxMessages ?? D.maxMessages;
  const maxAgeMs = options.history?.maxAgeMs ?? D.maxAgeMs;
  const idemTtl = options.idempotency?.ttlMs ?? D.idempotencyTtlMs;
  const idemMax = options.idempotency?.maxEntries ?? D.idempotencyMaxEntries;
  const lastSeenTtl = options.presence?.lastSeenTtlMs ?? D.lastSeenTtlMs;
  const controlTtl = options.control?.ttlMs ?? D.controlTtlMs;
  const maxRemovals = options.control?.maxRemovals ?? D.maxRemovals;
  const logger: Logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const ageLimited = Number.isFinite(maxAgeMs) && maxAgeMs > 0;
  const cutoff = (): string => (ageLimited ? String(now() - maxAgeMs) : '');

  const { conn: commandConn, owned: ownsCommands } = connect(options.redis ?? D.redis);
  const cluster = isCluster(commandConn);
  const ioPrefix = cluster
    ? (commandConn.options.keyPrefix ?? commandConn.options.redisOptions?.keyPrefix)
    : commandConn.options.keyPrefix;
  if (ioPrefix) {
    if (ownsCommands) commandConn.disconnect();
    // ioredis' keyPrefix would apply to script KEYS but not to channels or keys built in scripts.
    throw new TypeError(
      'createRedisEngine: do not set the ioredis keyPrefix option; use the engine keyPrefix option',
    );
  }
  let names: KeyNames;
  try {
    names = new KeyNames(prefix, cluster, options.presence?.buckets ?? D.presenceBuckets);
  } catch (err) {
    if (ownsCommands) commandConn.disconnect();
    throw err;
  }
  const redis = defineOperationCommands(defineParleyCommands(commandConn, cluster), cluster);
  // Single node: subscriptions are restored by `pubsub.resync()` on every reconnect, not by
  // ioredis: its auto-resubscribe issues SUBSCRIBE without a rejection handler, so a connection
  // that drops again before the reply ("Connection is closed.") raised an unhandled rejection — a
  // process crash. Cluster: ioredis' sharded subscriber group (one connection per primary)
  // re-subscribes after a failover; `pubsub.resync()` runs after it (`subscribersReady`).
  const subscriber: Redis | Cluster = isCluster(commandConn)
    ? commandConn.duplicate([], {
        shardedSubscribers: true,
        slotsRefreshInterval: commandConn.options.slotsRefreshInterval ?? SLOTS_REFRESH_MS,
      })
    : commandConn.duplicate({ autoResubscribe: false });

  // -- connection status ------------------------------------------------------------------------
  const listeners = new Set<(s: RedisEngineStatus) => void>();
  const state: Record<RedisEngineStatus['connection'], RedisEngineStatus['state']> = {
    commands: commandConn.status === 'ready' ? 'ready' : 'reconnecting',
    subscriber: 'reconnecting',
  };
  const lastError: Partial<Record<RedisEngineStatus['connection'], Error>> = {};
  let closed = false;
  const setState = (
    connection: RedisEngineStatus['connection'],
    next: RedisEngineStatus['state'],
  ): void => {
    if (state[connection] === next) return;
    const wasReady = state[connection] === 'ready';
    state[connection] = next;
    const error = lastError[connection];
    const status: RedisEngineStatus =
      error === undefined || next !== 'reconnecting'
        ? { connection, state: next }
        : { connection, state: next, error };
    if (next === 'reconnecting' && wasReady)
      logger.warn({ err: error, connection }, 'parley redis engine: connection lost, reconnecting');
    if (next === 'ready') {
      delete lastError[connection];
      logger.info({ connection }, 'parley redis engine: connection ready');
    }
    for (const l of [...listeners]) {
      try {
        l(status);
      } catch (err) {
        logger.error({ err }, 'parley redis engine: status listener threw');
      }
    }
  };
  const watch = (
    conn: Redis | Cluster,
    connection: RedisEngineStatus['connection'],
    onReady?: () => void,
  ): void => {
    let everReady = conn.status === 'ready';
    // Without an 'error' listener an unreachable Redis would crash the process.
    let quiet = false;
    conn.on('error', (err: Error) => {
      lastError[connection] = err;
      // ioredis reports every failed reconnect attempt: warn once per outage, then debug.
      if (quiet) logger.debug({ err, connection }, 'parley redis engine: connection error');
      else logger.warn({ err, connection }, 'parley redis engine: connection error');
      quiet = true;
    });
    conn.on('close', () => {
      if (!closed) setState(connection, 'reconnecting');
    });
    conn.on('ready', () => {
      quiet = false;
      if (closed) return;
      setState(connection, 'ready');
      if (everReady) onReady?.();
      everReady = true;
    });
  };
  watch(commandConn, 'commands');

  /** `range`, optionally with the stored origin of each message (for the gap fill). */
  const rangeWithOrigins = async (
    conversationId: string,
    after: number,
    limit: number,
    withOrigins: boolean,
    maxBytes?: number,
  ): Promise<RangeResult & { origins: (string | undefined)[] }> => {
    const k = convKeys(conversationId);
    const r = (await redis.parleyRange(
      k.meta,
      k.log,
      k.reads,
      k.idemIndex,
      k.state,
      newEpoch(),
      String(after),
      String(Math.min(Math.max(0, Math.floor(limit)), 1e9)),
      cutoff(),
      withOrigins ? '1' : '',
      maxBytes === undefined || !Number.isFinite(maxBytes) ? '' : String(Math.floor(maxBytes)),
    )) as unknown[];
    const head: Head = { epoch: str(r[0]), seq: Number(r[1]) };
    if (Number(r[2]) !== 1) return { head, complete: false, messages: [], origins: [] };
    const step = withOrigins ? 2 : 1;
    const messages: Message[] = [];
    const origins: (string | undefined)[] = [];
    for (let i = 3; i < r.length; i += step) {
      messages.push(JSON.parse(str(r[i])) as Message);
      const o = withOrigins ? str(r[i + 1]) : '';
      origins.push(o === '' ? undefined : o);
    }
    return { head, complete: true, messages, origins };
  };
  const range = async (
    conversationId: string,
    after: number,
    limit: number,
    maxBytes?: number,
  ): Promise<RangeResult> => {
    const { head, complete, messages } = await rangeWithOrigins(
      conversationId,
      after,
      limit,
      false,
      maxBytes,
    );
    return { head, complete, messages };
  };

  const pubsub = new PubSub({
    subscriber,
    sharded: cluster,
    channelOf: (topic) => names.channel(topic),
    logger,
    range: (conversationId, after, limit) => rangeWithOrigins(conversationId, after, limit, true),
    maxGapFill: options.maxGapFill ?? D.maxGapFill,
  });
  const resync = (): void => {
    pubsub
      .resync()
      .catch((err: unknown) => logger.warn({ err }, 'parley redis engine: resync failed'));
  };
  watch(subscriber, 'subscriber', resync);
  // After a failover ioredis rebuilds its per-shard subscribers and re-subscribes on its own; the
  // engine then subscribes again itself (its re-subscription drops errors) and fills the gaps.
  // A failover that does not close the subscriber's connection (a manual one, a resharding) only
  // makes the old primary push `sunsubscribe`, which ioredis swallows: the subscriber re-reads the
  // slot map every SLOTS_REFRESH_MS, and at once when the command connection was redirected.
  const followCommands = (): void => {
    if (isCluster(subscriber) && !closed) subscriber.refreshSlotsCache();
  };
  if (cluster) {
    subscriber.on('subscribersReady', () => resync());
    commandConn.on('refresh', followCommands);
  }

  // -- keys ---------------------------------------------------------------------------------------
  // Every per-conversation key ends with `c` (the id, or its hash tag `{c:<id>}` on Redis Cluster)
  // so that all of them, and the conversation's shard channel, share one slot. Add new ones here,
  // built the same way.
  function convKeys(conversationId: string) {
    const c = names.convTag(conversationId);
    return {
      meta: `${prefix}meta:${c}`,
      log: `${prefix}log:${c}`,
      reads: `${prefix}reads:${c}`,
      idemIndex: `${prefix}idem-index:${c}`,
      members: `${prefix}members:${c}`,
      removed: `${prefix}removed:${c}`,
      countable: `${prefix}countable:${c}`,
      state: `${prefix}state:${c}`,
    };
  }
  const keySuffix = (conversationId: string, senderId: string, clientMsgId: string): string =>
    cluster
      ? `${names.convTag(conversationId)}:${senderId.length}:${senderId}:${clientMsgId}`
      : `${conversationId.length}:${conversationId}:${senderId.length}:${senderId}:${clientMsgId}`;
  const idemKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${prefix}idem:${keySuffix(conversationId, senderId, clientMsgId)}`;
  const leaseKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${prefix}lease:${keySuffix(conversationId, senderId, clientMsgId)}`;
  const markKey = names.mark;
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

  const operations = redisOperations({
    redis,
    keys: convKeys,
    idemKey,
    leaseKey,
    // The conversation's channel as `append` publishes to it (a shard channel on a cluster).
    channel: (conversationId) => names.channel(`conv:${conversationId}`),
    now,
    newEpoch,
    cutoff,
    maxMessages,
    maxAgeMs: ageLimited ? maxAgeMs : 0,
    idemTtl,
    idemMax,
    findByClientId: (c, s, m) => engine.findByClientId(c, s, m),
  });

  const engine: RedisEngine = {
    dedupeWindowMs: idemTtl,
    redis: commandConn,
    keyPrefix: prefix,
    cluster,

    async append({ draft, origin, leased }): Promise<AppendResult> {
      const k = convKeys(draft.conversationId);
      const r = (await redis.parleyAppend(
        k.meta,
        k.log,
        k.reads,
        k.idemIndex,
        idemKey(draft.conversationId, draft.senderId, draft.clientMsgId),
        leaseKey(draft.conversationId, draft.senderId, draft.clientMsgId),
        k.countable,
        JSON.stringify(draft),
        String(draft.createdAt),
        String(now()),
        String(maxMessages),
        String(ageLimited ? maxAgeMs : 0),
        String(idemTtl),
        newEpoch(),
        names.channel(`conv:${draft.conversationId}`),
        origin === undefined ? '' : JSON.stringify(origin),
        origin ?? '',
        String(idemMax),
        isCountable(draft) ? '1' : '',
        draft.senderId,
        String(UNREAD_INDEX_MAX),
        leased === false ? '' : '1',
      )) as unknown[];
      if (Number(r[0]) === 1) return { duplicate: true, message: JSON.parse(str(r[2])) as Message };
      // The script stored the draft's JSON with `,"seq":N` appended: the same object.
      return { duplicate: false, message: { ...draft, seq: Number(r[2]) } };
    },

    applyOperation: (input) => operations.applyOperation(input),
    message: (conversationId, seq) => operations.message(conversationId, seq),

    async claimSend(conversationId, senderId, clientMsgId, leaseMs): Promise<SendClaim> {
      const r = (await redis.parleyClaimSend(
        convKeys(conversationId).meta,
        idemKey(conversationId, senderId, clientMsgId),
        leaseKey(conversationId, senderId, clientMsgId),
        String(now()),
        String(Math.max(1, Math.floor(leaseMs))),
      )) as unknown[];
      const state = Number(r[0]);
      if (state === 1) return { state: 'stored', message: JSON.parse(str(r[1])) as Message };
      if (state === 0) return { state: 'claimed' };
      // PTTL: -1 (no expiry) and -2 (gone meanwhile) cannot last; retry soon.
      return { state: 'busy', leaseMs: Math.max(0, Number(r[1] ?? 0)) };
    },

    async releaseSend(conversationId, senderId, clientMsgId) {
      await redis.del(leaseKey(conversationId, senderId, clientMsgId));
    },

    async findByClientId(conversationId, senderId, clientMsgId) {
      const r = await redis.parleyFind(
        convKeys(conversationId).meta,
        idemKey(conversationId, senderId, clientMsgId),
        String(now()),
      );
      return r === null || r === undefined ? undefined : (JSON.parse(str(r)) as Message);
    },

    async heads(conversationIds) {
      const replies = await Promise.all(
        conversationIds.map((id) => {
          const k = convKeys(id);
          return redis.parleyHead(k.meta, k.log, k.reads, k.idemIndex, newEpoch()) as Promise<
            unknown[]
          >;
        }),
      );
      const out = new Map<string, Head>();
      conversationIds.forEach((id, i) => {
        const r = replies[i]!;
        out.set(id, { epoch: str(r[0]), seq: Number(r[1]) });
      });
      return out;
    },

    range,

    async page(conversationId, before, limit): Promise<PageResult> {
      const k = convKeys(conversationId);
      const r = (await redis.parleyPage(
        k.log,
        k.meta,
        k.state,
        before === undefined ? '' : String(before),
        String(Math.min(Math.max(0, Math.floor(limit)), 1e9)),
        cutoff(),
      )) as unknown[];
      const messages = r
        .slice(1)
        .map((m) => JSON.parse(str(m)) as Message)
        .reverse();
      return { messages, hasMore: Number(r[0]) === 1 };
    },

    async setRead(conversationId, userId, seq) {
      const r = (await redis.parleySetRead(
        convKeys(conversationId).reads,
        userId,
        String(seq),
      )) as unknown[];
      return { seq: Number(r[0]), advanced: Number(r[1]) === 1 };
    },

    async reads(conversationId) {
      const all = await redis.hgetall(convKeys(conversationId).reads);
      const out: Record<string, number> = {};
      for (const [userId, seq] of Object.entries(all)) out[userId] = Number(seq);
      return out;
    },

    async inbox(userId, conversationIds) {
      // One script per conversation, never one over several. Single node: one pipeline. Cluster:
      // a pipeline must stay on one slot, so the calls go out concurrently (ioredis routes each
      // to its shard).
      const args = (id: string): string[] => {
        const k = convKeys(id);
        return [k.meta, k.log, k.reads, k.idemIndex, k.countable, k.state, newEpoch(), userId];
      };
      let replies: [Error | null, unknown][];
      if (conversationIds.length === 0) replies = [];
      else if (cluster) {
        replies = await Promise.all(
          conversationIds.map((id) =>
            redis.parleyInbox(...args(id)).then(
              (r): [Error | null, unknown] => [null, r],
              (err: unknown): [Error | null, unknown] => [err as Error, undefined],
            ),
          ),
        );
      } else {
        const pipeline = redis.pipeline() as unknown as {
          parleyInbox(...a: string[]): void;
          exec(): Promise<[Error | null, unknown][] | null>;
        };
        for (const id of conversationIds) pipeline.parleyInbox(...args(id));
        replies = (await pipeline.exec()) ?? [];
      }
      const out = new Map<string, InboxEntry>();
      conversationIds.forEach((id, i) => {
        const [err, reply] = replies[i] ?? [new Error('no reply'), undefined];
        if (err !== null) throw err;
        const r = reply as unknown[];
        const reads: Record<string, number> = {};
        for (let j = 5; j + 1 < r.length; j += 2) reads[str(r[j])] = Number(r[j + 1]);
        const last = str(r[4]);
        out.set(id, {
          head: { epoch: str(r[0]), seq: Number(r[1]) },
          reads,
          readSeq: Number(r[2]),
          unread: Number(r[3]),
          ...(last === '' ? {} : { lastMessage: JSON.parse(last) as Message }),
        });
      });
      return out;
    },

    async unread(conversationId, userId, upTo) {
      const k = convKeys(conversationId);
      const r = (await redis.parleyUnread(
        k.meta,
        k.log,
        k.reads,
        k.idemIndex,
        k.countable,
        newEpoch(),
        userId,
        upTo === undefined ? '' : String(Math.floor(upTo)),
      )) as unknown[];
      return { readSeq: Number(r[0]), count: Number(r[1]), at: Number(r[2]) };
    },

    async addMembers(conversationId, userIds) {
      const k = convKeys(conversationId);
      for (const batch of batches(userIds))
        await redis.parleyAddMembers(k.members, k.removed, ...batch);
    },

    async removeMembers(conversationId, userIds) {
      const k = convKeys(conversationId);
      for (const batch of batches(userIds)) {
        // The mark is taken first, in its own command (it is one key for the whole cluster):
        // a session start that reads a mark below it is protected against this removal.
        const mark = await redis.incr(markKey);
        await redis.parleyRemoveMembers(
          k.members,
          k.removed,
          String(mark),
          String(controlTtl),
          String(maxRemovals),
          ...batch,
        );
      }
    },

    async restoreMember(conversationId, userId, since) {
      const k = convKeys(conversationId);
      const r = await redis.parleyRestoreMember(k.members, k.removed, userId, String(since));
      return Number(r) === 1;
    },

    async isMember(conversationId, userId) {
      return (await redis.sismember(convKeys(conversationId).members, userId)) === 1;
    },

    async members(conversationId) {
      return redis.smembers(convKeys(conversationId).members);
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
        // One script per bucket and per 1,000 users (a large conversation stays many short calls).
        byBucket(userIds, (u) => u)
          .flatMap((g) =>
            Array.from({ length: Math.ceil(g.length / 1000) }, (_, i) =>
              g.slice(i * 1000, i * 1000 + 1000),
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

    subscribe(topic, handler) {
      return pubsub.subscribe(topic, handler);
    },

    async publish(topic, envelope: Envelope) {
      const payload = JSON.stringify(envelope);
      if (cluster) await redis.spublish(names.channel(topic), payload);
      else await redis.publish(names.channel(topic), payload);
    },

    status() {
      return { ...state };
    },

    onStatus(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      commandConn.off('refresh', followCommands);
      pubsub.close();
      const quit = async (conn: Redis | Cluster): Promise<void> => {
        try {
          if (conn.status === 'ready') await conn.quit();
          else conn.disconnect();
        } catch {
          conn.disconnect();
        }
      };
      await Promise.all([quit(subscriber), ownsCommands ? quit(commandConn) : Promise.resolve()]);
      setState('commands', 'closed');
      setState('subscriber', 'closed');
      listeners.clear();
    },

    [Symbol.asyncDispose]() {
      return engine.close();
    },
  };
  return engine;
}
