/**
 * Options of the Redis engine, with their defaults beside them.
 */
import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';

/** Options of {@link createRedisEngine}. */
export interface RedisEngineOptions {
  /**
   * The Redis connection: an ioredis instance (the engine uses it for commands and never closes
   * it), ioredis options, or a `redis://` / `rediss://` URL (the engine owns and closes those
   * connections). A dedicated subscriber connection is always created with `duplicate()`.
   *
   * Redis Cluster (Redis >= 7): an ioredis `Cluster`, or its startup nodes (an array of URLs or
   * `{ host, port }`; the engine then creates and owns the `Cluster`). Keys are hash-tagged per
   * conversation and per presence bucket, and fan-out uses sharded pub/sub (`SSUBSCRIBE` /
   * `SPUBLISH`) on a duplicate of the cluster with `shardedSubscribers: true`.
   *
   * Do not set ioredis' own `keyPrefix`: it does not apply to pub/sub channels; use
   * {@link RedisEngineOptions.keyPrefix}.
   * @default 'redis://127.0.0.1:6379'
   */
  redis?: Redis | Cluster | RedisOptions | string | readonly ClusterNode[];
  /**
   * Prefix of every key and pub/sub channel, so several apps (or test runs) share one Redis.
   * @default 'parley:'
   */
  keyPrefix?: string;
  history?: {
    /** Messages kept per conversation (exact `XADD MAXLEN`); older ones are trimmed. @default 1000 */
    maxMessages?: number;
    /**
     * Messages older than this are trimmed (on append, and hidden from reads as soon as they are
     * older). An idle conversation's stream key expires after this long. `Infinity` disables it.
     * @default 7 days
     */
    maxAgeMs?: number;
  };
  idempotency?: {
    /** How long a retried send is recognised (the record's `PX`). @default 24 hours */
    ttlMs?: number;
    /**
     * Idempotency records kept per conversation; the oldest are deleted first (`0`: no limit
     * besides `ttlMs`).
     * @default 10_000
     */
    maxEntries?: number;
  };
  presence?: {
    /**
     * How long a user's `lastSeenAt` is remembered after their last connection went away (the
     * presence hash's expiry).
     * @default 30 days
     */
    lastSeenTtlMs?: number;
    /**
     * Redis Cluster only: users are spread over this many presence buckets, each with its own
     * deadline index in the slot of its users' keys (`{pb:<n>}`); the sweep reads every bucket.
     * More buckets spread presence over more shards; fewer make the sweep cheaper.
     * @default 64
     */
    buckets?: number;
  };
  control?: {
    /**
     * How long removal (`hub.leave`) and kick (`hub.disconnectUser`) records are kept. They only
     * matter to session starts in flight, so this must exceed the hub's
     * `limits.sessionStartTimeoutMs`.
     * @default 10 minutes
     */
    ttlMs?: number;
    /** Removal records kept per conversation (the oldest are dropped first). @default 1000 */
    maxRemovals?: number;
  };
  /**
   * Health check of the engine's links: a `PING` on the command and the subscriber connection
   * (on Redis Cluster: each node's command connection and each shard's subscriber) every
   * `intervalMs`. A link whose `PING` is not answered within `timeoutMs` went silent without
   * closing (a dead route, a failover behind a virtual IP): it is dropped and reconnected, its
   * unanswered commands are resent, and the subscriber fills the gap from the history. A
   * reconnect whose handshake goes unanswered as long is dropped too. `false` turns it off.
   * @default { intervalMs: 5_000, timeoutMs: 5_000 }
   */
  health?: { intervalMs?: number; timeoutMs?: number } | false;
  /**
   * How long a command may wait for its reply (ioredis `commandTimeout`) on the connections the
   * engine opens from a URL, options or cluster nodes; then it fails and the hub answers
   * `unavailable`, which clients retry. Without it a command sent just before Redis froze waits
   * until Redis answers again, however long that takes. An ioredis instance you pass, and options
   * that set `commandTimeout`, keep their own. `false`: no deadline.
   * @default 10_000
   */
  commandTimeoutMs?: number | false;
  /** Where connection problems are reported (pino-compatible). @default a silent logger */
  logger?: Logger;
  /**
   * When the pub/sub connection comes back after a loss, or a live message reveals a gap, the
   * engine re-reads each subscribed conversation's history and delivers the messages the
   * subscription missed, in order, before newer ones. At most this many per conversation; beyond
   * it the gap is left to the clients' `sync` (which answers `reset`).
   * @default 1000
   */
  maxGapFill?: number;
  /** Clock (ms since the Unix epoch) used for expiries and ages, for tests. @default Date.now */
  now?: () => number;
}

/** The defaults of {@link RedisEngineOptions}. */
export const REDIS_ENGINE_DEFAULTS = {
  redis: 'redis://127.0.0.1:6379',
  keyPrefix: 'parley:',
  maxMessages: 1000,
  maxAgeMs: 7 * 24 * 3600_000,
  idempotencyTtlMs: 24 * 3600_000,
  idempotencyMaxEntries: 10_000,
  lastSeenTtlMs: 30 * 24 * 3600_000,
  maxGapFill: 1000,
  controlTtlMs: 10 * 60_000,
  maxRemovals: 1000,
  presenceBuckets: 64,
  commandTimeoutMs: 10_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 5_000,
} as const;

/** Connection state of one of the engine's two Redis connections. */
export interface RedisEngineStatus {
  /** `commands`: the connection that runs scripts; `subscriber`: the pub/sub connection. */
  connection: 'commands' | 'subscriber';
  /** `ready`: usable; `reconnecting`: lost, ioredis is retrying; `closed`: the engine was closed. */
  state: 'ready' | 'reconnecting' | 'closed';
  /** The error that caused the loss, when there was one. */
  error?: Error;
}
