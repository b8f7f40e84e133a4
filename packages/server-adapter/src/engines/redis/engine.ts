/**
 * The Redis engine: the engine contract on one Redis, or on a Redis Cluster (sharded pub/sub),
 * shared by any number of hub processes. See the package README for deployment, memory and cost
 * per message, and `keys.ts` for the key names of both modes.
 */
import { randomBytes } from 'node:crypto';
// From node:timers, not the global: an app's fake timers (tests) replace only the global one, and
// a held write must never wait for a faked timer.
import { setImmediate } from 'node:timers';
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
  type RangeResult,
  type SendClaim,
  UNREAD_INDEX_MAX,
  withSeq,
} from '../types.js';
import { closeLink, clusterLinks, healthOptions, QUIT_TIMEOUT_MS, watchHealth } from './health.js';
import { KeyNames } from './keys.js';
import { redisMembership } from './membership.js';
import { defineOperationCommands } from './operation-scripts.js';
import { redisOperations } from './operations.js';
import {
  REDIS_ENGINE_DEFAULTS,
  type RedisEngineOptions,
  type RedisEngineStatus,
} from './options.js';
import { type ExpiredPresence, redisPresence } from './presence.js';
import { PubSub } from './pubsub.js';
import { str } from './reply.js';
import { defineParleyCommands } from './scripts.js';
import { statusTracker } from './status.js';

export type { ExpiredPresence } from './presence.js';

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

/**
 * The connection the engine runs its commands on, from the `redis` option. One it opens has a
 * `commandTimeout` (unless the given options set one): a command already sent when its link
 * went silent waits for the link to be ready again, however long Redis stays frozen.
 */
function connect(
  source: RedisEngineOptions['redis'],
  commandTimeout: number | undefined,
): { conn: Redis | Cluster; owned: boolean } {
  // Duck-typed rather than `instanceof`: the app may have its own copy of ioredis.
  if (isRedis(source)) return { conn: source, owned: false };
  if (Array.isArray(source))
    return {
      conn: new Cluster(source as ClusterNode[], {
        shardedSubscribers: true,
        redisOptions: { commandTimeout },
      }),
      owned: true,
    };
  if (typeof source === 'string')
    return { conn: new Redis(source, { commandTimeout }), owned: true };
  return { conn: new Redis({ commandTimeout, ...(source as RedisOptions) }), owned: true };
}

const isCluster = (conn: Redis | Cluster): conn is Cluster =>
  (conn as { isCluster?: unknown }).isCluster === true;

/** Redis Cluster: how often the subscriber re-reads the slot map (see `followCommands`). */
const SLOTS_REFRESH_MS = 2000;

/**
 * A fresh epoch candidate: 12 URL-safe characters, so it can be concatenated into JSON as is. The
 * random bytes are drawn in batches: one `randomBytes` per 128 candidates (issue 15).
 */
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

  const health = options.health === false ? undefined : healthOptions(options.health);
  const commandTimeoutMs = options.commandTimeoutMs ?? D.commandTimeoutMs;
  if (commandTimeoutMs !== false && !(Number.isFinite(commandTimeoutMs) && commandTimeoutMs >= 10))
    throw new TypeError(
      'createRedisEngine: commandTimeoutMs must be a number of ms >= 10, or false',
    );
  const { conn: commandConn, owned: ownsCommands } = connect(
    options.redis ?? D.redis,
    commandTimeoutMs === false ? undefined : commandTimeoutMs,
  );
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
  const status = statusTracker(logger, commandConn.status === 'ready');
  let closed = false;
  status.watch(commandConn, 'commands');

  /** `range`, optionally with the stored origin of each message (for the gap fill). */
  const rangeWithOrigins = async (
    conversationId: string,
    after: number,
    limit: number,
    withOrigins: boolean,
    maxBytes?: number,
  ): Promise<RangeResult & { json: string[]; origins: (string | undefined)[] }> => {
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
    if (Number(r[2]) !== 1) return { head, complete: false, messages: [], json: [], origins: [] };
    const step = withOrigins ? 2 : 1;
    const messages: Message[] = [];
    const json: string[] = [];
    const origins: (string | undefined)[] = [];
    for (let i = 3; i < r.length; i += step) {
      const text = str(r[i]);
      // Parsed even when only the JSON is used: what Redis holds is checked before a client gets it.
      messages.push(JSON.parse(text) as Message);
      json.push(text);
      const o = withOrigins ? str(r[i + 1]) : '';
      origins.push(o === '' ? undefined : o);
    }
    return { head, complete: true, messages, json, origins };
  };
  const range = async (
    conversationId: string,
    after: number,
    limit: number,
    maxBytes?: number,
  ): Promise<RangeResult> => {
    const { head, complete, messages, json } = await rangeWithOrigins(
      conversationId,
      after,
      limit,
      false,
      maxBytes,
    );
    return { head, complete, messages, json };
  };

  const pubsub = new PubSub({
    subscriber,
    sharded: cluster,
    channelOf: (topic) => names.channel(topic),
    logger,
    range: (conversationId, after, limit) => rangeWithOrigins(conversationId, after, limit, true),
    maxGapFill: options.maxGapFill ?? D.maxGapFill,
    head: async (conversationId) => {
      const h = (await engine.heads([conversationId])).get(conversationId);
      if (h === undefined) throw new Error(`no head for ${conversationId}`);
      return h;
    },
  });
  const resync = (): void => {
    pubsub
      .resync()
      .catch((err: unknown) => logger.warn({ err }, 'parley redis engine: resync failed'));
  };
  status.watch(subscriber, 'subscriber', resync);
  const stopHealth =
    health === undefined
      ? () => {}
      : watchHealth(
          () =>
            isCluster(commandConn) && isCluster(subscriber)
              ? [
                  ...clusterLinks(commandConn, 'commands'),
                  ...clusterLinks(subscriber, 'subscriber'),
                ]
              : [
                  { conn: commandConn as Redis, name: 'commands' },
                  { conn: subscriber as Redis, name: 'subscriber' },
                ],
          health,
          logger,
        );
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
      version: `${prefix}mver:${c}`,
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

  // The per-frame commands (append, setRead, publish) issued in one event-loop turn leave in one
  // write: the command socket is corked at the first and uncorked after the turn's I/O callbacks
  // (setImmediate). Redis then reads them together and answers (and publishes) in one write each
  // (issue 15). Single node only.
  let corked: { uncork(): void } | undefined;
  const uncork = (): void => {
    const s = corked;
    corked = undefined;
    s?.uncork();
  };
  const coalesce = (): void => {
    if (corked !== undefined || cluster || commandConn.status !== 'ready') return;
    const stream = (commandConn as Redis).stream as
      | { cork?: () => void; uncork(): void; destroyed?: boolean }
      | undefined;
    if (stream?.cork === undefined || stream.destroyed) return;
    stream.cork();
    corked = stream;
    setImmediate(uncork);
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
    // One subscriber connection on a single node; one per shard on a cluster.
    topicsOrdered: !cluster,
    redis: commandConn,
    keyPrefix: prefix,
    cluster,

    async append({ draft, origin, leased }): Promise<AppendResult> {
      const k = convKeys(draft.conversationId);
      coalesce();
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
      return { duplicate: false, message: withSeq(draft, Number(r[2])) };
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
      const json = r
        .slice(1)
        .map((m) => str(m))
        .reverse();
      // Parsed even when only the JSON is used: what Redis holds is checked before a client gets it.
      const messages = json.map((m) => JSON.parse(m) as Message);
      return { messages, json, hasMore: Number(r[0]) === 1 };
    },

    async setRead(conversationId, userId, seq) {
      coalesce();
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

    ...redisMembership({ redis, names, keys: convKeys, controlTtl, maxRemovals }),

    ...redisPresence({ redis, names, now, lastSeenTtl }),

    subscribe(topic, handler) {
      return pubsub.subscribe(topic, handler);
    },

    async publish(topic, envelope: Envelope) {
      const payload = JSON.stringify(envelope);
      coalesce();
      if (cluster) await redis.spublish(names.channel(topic), payload);
      else await redis.publish(names.channel(topic), payload);
    },

    status: () => status.current(),
    onStatus: (listener) => status.onStatus(listener),

    async close() {
      if (closed) return;
      closed = true;
      status.closing();
      commandConn.off('refresh', followCommands);
      pubsub.close();
      stopHealth();
      // QUIT within a deadline: on a silent link its reply never comes.
      const within = Math.min(health?.timeoutMs ?? QUIT_TIMEOUT_MS, QUIT_TIMEOUT_MS);
      await Promise.all([
        closeLink(subscriber, within),
        ownsCommands ? closeLink(commandConn, within) : undefined,
      ]);
      status.closed();
    },

    [Symbol.asyncDispose]() {
      return engine.close();
    },
  };
  return engine;
}
