/**
 * The Redis engine: the engine contract on one Redis shared by any number of hub processes.
 * See `README.md` beside this file for deployment, memory and cost per message.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '@parley/protocol';
import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, silentLogger } from '../../logger.js';
import { applyToTarget, canOperateOn } from '../operations.js';
import {
  type AppendResult,
  type Engine,
  type Envelope,
  type Head,
  type InboxEntry,
  isCountable,
  type OperationResult,
  type PageResult,
  type PresenceRecord,
  type RangeResult,
  type SendClaim,
  UNREAD_INDEX_MAX,
} from '../types.js';
import { defineOperationCommands } from './operation-scripts.js';
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
   * @param limit At most this many users per call. @default 100
   */
  presenceSweep(limit?: number): Promise<ExpiredPresence[]>;
  /** Current state of the two connections. */
  status(): { commands: RedisEngineStatus['state']; subscriber: RedisEngineStatus['state'] };
  /** Calls `listener` on every connection state change. Returns the unsubscribe function. */
  onStatus(listener: (status: RedisEngineStatus) => void): () => void;
  /** The command connection (scripts are defined on it as `parley*` commands). */
  readonly redis: Redis;
  /** The prefix of every key and channel of this engine (`keyPrefix`). */
  readonly keyPrefix: string;
  [Symbol.asyncDispose](): Promise<void>;
}

const isRedis = (v: unknown): v is Redis =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Redis).duplicate === 'function' &&
  typeof (v as Redis).defineCommand === 'function';

/** A fresh epoch: 12 URL-safe characters, so it can be concatenated into JSON as is. */
const newEpoch = (): string => randomBytes(9).toString('base64url');

/** Splits ids into script-sized batches (Lua's `unpack` takes a few thousand values at most). */
function* batches(ids: readonly string[], size = 500): Generator<string[]> {
  for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
}

/** Compare-and-set rounds of `applyOperation` before it gives up (`unavailable` to the client). */
const MAX_OPERATION_ATTEMPTS = 20;

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

  const source = options.redis ?? D.redis;
  // Duck-typed rather than `instanceof`: the app may have its own copy of ioredis.
  const given = isRedis(source) ? source : undefined;
  const commandConn =
    given ?? (typeof source === 'string' ? new Redis(source) : new Redis(source as RedisOptions));
  if (commandConn.options.keyPrefix) {
    if (given === undefined) commandConn.disconnect();
    // ioredis' keyPrefix would apply to script KEYS but not to channels or keys built in scripts.
    throw new TypeError(
      'createRedisEngine: do not set the ioredis keyPrefix option; use the engine keyPrefix option',
    );
  }
  const ownsCommands = given === undefined;
  const redis = defineOperationCommands(defineParleyCommands(commandConn));
  // Subscriptions are restored by `pubsub.resync()` on every reconnect, not by ioredis: its
  // auto-resubscribe issues SUBSCRIBE without a rejection handler, so a connection that drops again
  // before the reply ("Connection is closed.") raised an unhandled rejection — a process crash.
  const subscriber = commandConn.duplicate({ autoResubscribe: false });

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
    conn: Redis,
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
    channelPrefix: prefix,
    logger,
    range: (conversationId, after, limit) => rangeWithOrigins(conversationId, after, limit, true),
    maxGapFill: options.maxGapFill ?? D.maxGapFill,
  });
  watch(subscriber, 'subscriber', () => {
    pubsub
      .resync()
      .catch((err: unknown) => logger.warn({ err }, 'parley redis engine: resync failed'));
  });

  // -- keys ---------------------------------------------------------------------------------------
  function convKeys(conversationId: string) {
    return {
      meta: `${prefix}meta:${conversationId}`,
      log: `${prefix}log:${conversationId}`,
      reads: `${prefix}reads:${conversationId}`,
      idemIndex: `${prefix}idem-index:${conversationId}`,
      members: `${prefix}members:${conversationId}`,
      removed: `${prefix}removed:${conversationId}`,
      countable: `${prefix}countable:${conversationId}`,
      state: `${prefix}state:${conversationId}`,
    };
  }
  const keySuffix = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${conversationId.length}:${conversationId}:${senderId.length}:${senderId}:${clientMsgId}`;
  const idemKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${prefix}idem:${keySuffix(conversationId, senderId, clientMsgId)}`;
  const leaseKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${prefix}lease:${keySuffix(conversationId, senderId, clientMsgId)}`;
  const markKey = `${prefix}ctl-mark`;
  const kickKey = (userId: string): string => `${prefix}kick:${userId}`;
  const connsKey = (userId: string): string => `${prefix}conns:${userId}`;
  const presenceKey = (userId: string): string => `${prefix}presence:${userId}`;
  const deadlinesKey = `${prefix}presence-deadlines`;

  /** A held message's current state (JSON as stored) and the epoch it was read in. */
  const readMessage = async (
    conversationId: string,
    seq: string,
  ): Promise<{ epoch: string; json: string } | undefined> => {
    const k = convKeys(conversationId);
    const r = (await redis.parleyMessage(k.meta, k.log, k.state, seq, cutoff())) as
      | unknown[]
      | null;
    return r === null || r === undefined ? undefined : { epoch: str(r[0]), json: str(r[1]) };
  };

  const engine: RedisEngine = {
    dedupeWindowMs: idemTtl,
    redis: commandConn,
    keyPrefix: prefix,

    async append({ draft, origin }): Promise<AppendResult> {
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
        `${prefix}conv:${draft.conversationId}`,
        origin === undefined ? '' : JSON.stringify(origin),
        origin ?? '',
        String(idemMax),
        isCountable(draft) ? '1' : '',
        draft.senderId,
        String(UNREAD_INDEX_MAX),
      )) as unknown[];
      return { duplicate: Number(r[0]) === 1, message: JSON.parse(str(r[2])) as Message };
    },

    async applyOperation({ draft, origin }): Promise<OperationResult> {
      const conversationId = draft.conversationId;
      const k = convKeys(conversationId);
      const targetSeq = String(draft.target ?? 0);
      // Compare and set: the new state is computed here from the target as read; the script
      // stores it only if the target is unchanged, else it is read again (another operation won).
      for (let attempt = 0; attempt < MAX_OPERATION_ATTEMPTS; attempt++) {
        const read = await readMessage(conversationId, targetSeq);
        const current = read === undefined ? undefined : (JSON.parse(read.json) as Message);
        const next = canOperateOn(current)
          ? applyToTarget(current, { ...draft, seq: 0 } as Message)
          : undefined;
        if (next === undefined || next === 'too_many_reactions') {
          // Nothing to store; a retry of an operation stored already is still a duplicate.
          const stored = await engine.findByClientId(
            conversationId,
            draft.senderId,
            draft.clientMsgId,
          );
          if (stored !== undefined) return { state: 'duplicate', message: stored };
          return next === undefined ? { state: 'not_found' } : { state: next };
        }
        const { version: _v, ...state } = next;
        const r = (await redis.parleyApplyOperation(
          k.meta,
          k.log,
          k.reads,
          k.idemIndex,
          idemKey(conversationId, draft.senderId, draft.clientMsgId),
          leaseKey(conversationId, draft.senderId, draft.clientMsgId),
          k.state,
          JSON.stringify(draft),
          String(draft.createdAt),
          String(now()),
          String(maxMessages),
          String(ageLimited ? maxAgeMs : 0),
          String(idemTtl),
          newEpoch(),
          `${prefix}conv:${conversationId}`,
          origin === undefined ? '' : JSON.stringify(origin),
          origin ?? '',
          String(idemMax),
          targetSeq,
          read!.epoch,
          read!.json,
          JSON.stringify(state),
        )) as unknown[];
        const code = Number(r[0]);
        if (code === 0) {
          return {
            state: 'stored',
            message: JSON.parse(str(r[2])) as Message,
            target: JSON.parse(str(r[3])) as Message,
          };
        }
        if (code === 1) return { state: 'duplicate', message: JSON.parse(str(r[2])) as Message };
        if (code === 3) return { state: 'not_found' };
      }
      throw new Error('parley redis engine: the target kept changing; operation not stored');
    },

    async message(conversationId, seq) {
      const read = await readMessage(conversationId, String(seq));
      return read === undefined ? undefined : (JSON.parse(read.json) as Message);
    },

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
      // One script per conversation, pipelined: never one script over several conversations.
      const pipeline = redis.pipeline() as unknown as {
        parleyInbox(...args: string[]): void;
        exec(): Promise<[Error | null, unknown][] | null>;
      };
      for (const id of conversationIds) {
        const k = convKeys(id);
        pipeline.parleyInbox(
          k.meta,
          k.log,
          k.reads,
          k.idemIndex,
          k.countable,
          k.state,
          newEpoch(),
          userId,
        );
      }
      const replies = conversationIds.length === 0 ? [] : ((await pipeline.exec()) ?? []);
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
        await redis.parleyRemoveMembers(
          k.members,
          k.removed,
          markKey,
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
      await redis.parleyRecordKick(
        kickKey(userId),
        markKey,
        String(kick.code),
        kick.reason,
        String(controlTtl),
      );
    },

    async kickedSince(userId, since) {
      const rec = await redis.get(kickKey(userId));
      if (rec === null) return undefined;
      const [m, code, ...reason] = rec.split('\n');
      if (Number(m) <= since) return undefined;
      return { code: Number(code), reason: reason.join('\n') };
    },

    async presenceConnect(userId, connectionId, ttlMs) {
      const r = (await redis.parleyPresenceConnect(
        connsKey(userId),
        presenceKey(userId),
        deadlinesKey,
        connectionId,
        String(now()),
        String(ttlMs),
        userId,
      )) as unknown[];
      return { wasOnline: Number(r[0]) === 1, connections: Number(r[1]) };
    },

    async presenceRefresh(entries, ttlMs) {
      if (entries.length === 0) return;
      const keys = [deadlinesKey, ...entries.map((e) => connsKey(e.userId))];
      const args = [
        String(now()),
        String(ttlMs),
        ...entries.flatMap((e) => [e.connectionId, e.userId]),
      ];
      await redis.parleyPresenceRefresh(keys.length, ...keys, ...args);
    },

    async presenceDisconnect(userId, connectionId, graceMs) {
      const remaining = await redis.parleyPresenceDisconnect(
        connsKey(userId),
        presenceKey(userId),
        deadlinesKey,
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
      if (userIds.length === 0) return out;
      const keys = userIds.flatMap((u) => [connsKey(u), presenceKey(u)]);
      const r = (await redis.parleyPresenceRead(keys.length, ...keys, String(now()))) as unknown[];
      userIds.forEach((u, i) => {
        const online = Number(r[2 * i]) === 1;
        const seen = str(r[2 * i + 1]);
        out.set(u, seen === '' ? { online } : { online, lastSeenAt: Number(seen) });
      });
      return out;
    },

    async connectedUsers(userIds) {
      const t = now();
      const counts = await Promise.all(
        userIds.map((u) => redis.zcount(connsKey(u), `(${t}`, '+inf')),
      );
      return new Set(userIds.filter((_, i) => counts[i]! > 0));
    },

    async presenceSweep(limit = 100) {
      const r = (await redis.parleyPresenceSweep(
        deadlinesKey,
        String(now()),
        String(limit),
        prefix,
        String(lastSeenTtl),
      )) as unknown[];
      const out: ExpiredPresence[] = [];
      for (let i = 0; i + 1 < r.length; i += 2) {
        const seen = str(r[i + 1]);
        out.push({ userId: str(r[i]), lastSeenAt: seen === '' ? now() : Number(seen) });
      }
      return out;
    },

    subscribe(topic, handler) {
      return pubsub.subscribe(topic, handler);
    },

    async publish(topic, envelope: Envelope) {
      await redis.publish(prefix + topic, JSON.stringify(envelope));
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
      pubsub.close();
      const quit = async (conn: Redis): Promise<void> => {
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
