/**
 * The default, single-process engine. Everything lives in Maps; every "atomic" operation of the
 * contract is naturally atomic because it runs synchronously on one event loop (the async
 * signatures only exist for the interface).
 *
 * Stored messages and idempotency records are held as JSON strings (`ConversationLog`,
 * `DedupeLog`), not object graphs, so that a major GC does not trace every retained message
 * (issue 15). A message the engine returns is always a fresh object: changing it changes nothing
 * stored.
 */
import type { Message } from '@parley/protocol';
import { Groups } from '../../groups.js';
import { utf8Bytes } from '../../text.js';
import { applyToTarget, canOperateOn } from '../operations.js';
import {
  type AppendInput,
  type AppendResult,
  type Engine,
  type Envelope,
  type Head,
  type InboxEntry,
  isCountable,
  type Kick,
  type MessageDraft,
  type OperationResult,
  type PageResult,
  type PresenceRecord,
  type RangeResult,
  type SendClaim,
  type Topic,
  UNREAD_INDEX_MAX,
  type Unsubscribe,
  withSeq,
} from '../types.js';
import { DedupeLog } from './dedupe.js';
import { ExpiringMap } from './expiring.js';
import { ConversationLog, upperBound } from './history.js';
import { Liveness } from './liveness.js';

/** Options of {@link createMemoryEngine}. */
export interface MemoryEngineOptions {
  history?: {
    /** Messages kept per conversation; older ones are trimmed. @default 1000 */
    maxMessages?: number;
    /** Messages older than this are trimmed. @default 7 days */
    maxAgeMs?: number;
  };
  idempotency?: {
    /** Idempotency records kept per conversation (oldest evicted first). @default 10_000 */
    maxEntries?: number;
    /**
     * Most bytes of idempotency records kept per conversation: each record counts the UTF-8 bytes
     * of its stored message's JSON and of its key (sender id + client message id). Past it the
     * oldest records are evicted first (the newest one is always kept), so with large messages a
     * retry is recognised for fewer than `maxEntries` messages: a retry whose record was evicted
     * is stored as a new message. About 3 MB holds the 10,000 records of ~100-character messages.
     * @default 4 MiB (4_194_304)
     */
    maxBytes?: number;
    /** How long a retry is recognised. @default 24 hours */
    ttlMs?: number;
  };
  control?: {
    /**
     * How long removal and kick records are kept (they only matter to session starts in flight,
     * so this must exceed the hub's `limits.sessionStartTimeoutMs`). @default 10 minutes
     */
    ttlMs?: number;
    /** Most removal/kick/lease records kept in all (the oldest are dropped first). @default 100_000 */
    maxEntries?: number;
  };
  /** Identity of this store's history. @default a random id per engine instance */
  epoch?: string;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Default of `idempotency.maxBytes`: 4 MiB per conversation. */
const DEFAULT_IDEMPOTENCY_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Stored JSON with its messages parsed only if read: a replay or a history page splices the JSON
 * as it is (no parse and re-serialisation per message).
 */
function lazyMessages<T extends object>(
  fields: T,
  json: string[],
): T & { json: string[]; readonly messages: Message[] } {
  let messages: Message[] | undefined;
  return {
    ...fields,
    json,
    get messages(): Message[] {
      messages ??= json.map((m) => JSON.parse(m) as Message);
      return messages;
    },
  };
}

/** Creates the in-memory engine. State is lost when the process stops (the epoch changes). */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const maxMessages = options.history?.maxMessages ?? 1000;
  const maxAgeMs = options.history?.maxAgeMs ?? 7 * 24 * 3600_000;
  const idemTtl = options.idempotency?.ttlMs ?? 24 * 3600_000;
  const dedupeBounds = {
    maxEntries: options.idempotency?.maxEntries ?? 10_000,
    maxBytes: options.idempotency?.maxBytes ?? DEFAULT_IDEMPOTENCY_MAX_BYTES,
    ttlMs: idemTtl,
  };
  const epoch =
    options.epoch ?? `m${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
  const now = options.now ?? Date.now;
  const controlTtl = options.control?.ttlMs ?? 10 * 60_000;
  const controlMax = options.control?.maxEntries ?? 100_000;

  const conversations = new Map<string, ConversationLog>();
  // conversationId -> its idempotency records, by (senderId, clientMsgId).
  const idem = new Map<string, DedupeLog>();
  const readPositions = new Map<string, Map<string, number>>();
  const memberSets = new Map<string, Set<string>>();
  const connections = new Liveness();
  const graceUntil = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  // Topic -> its handlers; the hub subscribes each topic once per process (one handler each).
  const subscribers = new Groups<Topic, (e: Envelope) => void>();
  let mark = 0;
  // conversationId \0 userId -> mark of the removal; userId -> latest kick; send leases.
  const removals = new ExpiringMap<number>(controlMax, now);
  const kicks = new ExpiringMap<Kick & { mark: number }>(controlMax, now);
  const leases = new ExpiringMap<true>(controlMax, now);
  const leaseKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${conversationId}\u0000${idemKey(senderId, clientMsgId)}`;

  const conv = (id: string): ConversationLog => {
    let c = conversations.get(id);
    if (c === undefined) {
      c = new ConversationLog(maxMessages, maxAgeMs, now);
      conversations.set(id, c);
    }
    return c;
  };

  const idemKey = (senderId: string, clientMsgId: string): string =>
    `${senderId}\u0000${clientMsgId}`;

  /** The message stored under the idempotency key (a fresh object), if its record is live. */
  const findIdem = (c: string, senderId: string, clientMsgId: string): Message | undefined => {
    const json = idem.get(c)?.get(senderId, clientMsgId);
    return json === undefined ? undefined : (JSON.parse(json) as Message);
  };

  const rememberIdem = (draft: MessageDraft, json: string): void => {
    let records = idem.get(draft.conversationId);
    if (records === undefined) {
      records = new DedupeLog(dedupeBounds, now);
      idem.set(draft.conversationId, records);
    }
    records.add(draft.senderId, draft.clientMsgId, json);
  };

  const publishSync = (topic: Topic, envelope: Envelope): void => {
    // A copy when there are several: a handler may subscribe or unsubscribe others.
    if (subscribers.count(topic) < 2) subscribers.forEach(topic, (handler) => handler(envelope));
    else for (const handler of subscribers.values(topic)) handler(envelope);
  };

  const liveCount = (userId: string): number => {
    return connections.live(userId, now(), (exp) => {
      if (!lastSeen.has(userId) || lastSeen.get(userId)! < exp) lastSeen.set(userId, exp);
    });
  };

  const addMembersNow = (conversationId: string, userIds: readonly string[]): void => {
    let set = memberSets.get(conversationId);
    if (set === undefined) {
      set = new Set();
      memberSets.set(conversationId, set);
    }
    for (const u of userIds) {
      set.add(u);
      removals.delete(`${conversationId}\u0000${u}`);
    }
  };

  const setReadNow = (conversationId: string, userId: string, seq: number) => {
    let m = readPositions.get(conversationId);
    if (m === undefined) {
      m = new Map();
      readPositions.set(conversationId, m);
    }
    const current = m.get(userId) ?? 0;
    if (seq <= current) return { seq: current, advanced: false };
    m.set(userId, seq);
    return { seq, advanced: true };
  };

  /** Countable messages with `readSeq < seq <= at`, within the newest UNREAD_INDEX_MAX. */
  const countUnread = (c: ConversationLog | undefined, readSeq: number, at: number): number => {
    if (c === undefined || at <= readSeq) return 0;
    const n = upperBound(c.countable, at) - upperBound(c.countable, readSeq);
    return Math.min(n, UNREAD_INDEX_MAX);
  };

  const isOnline = (userId: string): boolean =>
    liveCount(userId) > 0 || (graceUntil.get(userId) ?? 0) > now();

  return {
    dedupeWindowMs: idemTtl,
    topicsOrdered: true,

    async append({ draft, origin }: AppendInput): Promise<AppendResult> {
      // No key string per append when no send is leased (the hub leases only around `persist`).
      if (leases.size > 0)
        leases.delete(leaseKey(draft.conversationId, draft.senderId, draft.clientMsgId));
      const existing = findIdem(draft.conversationId, draft.senderId, draft.clientMsgId);
      if (existing !== undefined) return { message: existing, duplicate: true };
      const c = conv(draft.conversationId);
      const message = withSeq(draft, c.seq + 1);
      const json = JSON.stringify(message);
      const countable = isCountable(message);
      c.push(message, json, countable);
      // Sending marks read.
      if (countable) setReadNow(draft.conversationId, message.senderId, message.seq);
      rememberIdem(draft, json);
      publishSync(
        `conv:${draft.conversationId}`,
        origin === undefined
          ? { kind: 'message', message, json }
          : { kind: 'message', message, json, origin },
      );
      return { message, duplicate: false };
    },

    async applyOperation({ draft, origin, maxTargetBytes }): Promise<OperationResult> {
      leases.delete(leaseKey(draft.conversationId, draft.senderId, draft.clientMsgId));
      const existing = findIdem(draft.conversationId, draft.senderId, draft.clientMsgId);
      if (existing !== undefined) return { state: 'duplicate', message: existing };
      const c = conversations.get(draft.conversationId);
      const current = draft.target === undefined ? undefined : c?.get(draft.target);
      if (c === undefined || !canOperateOn(current)) return { state: 'not_found' };
      const message = withSeq(draft, c.seq + 1);
      const target = applyToTarget(current, message);
      if (typeof target === 'string') return { state: target };
      const targetJson = JSON.stringify(target);
      if (maxTargetBytes !== undefined && utf8Bytes(targetJson) > maxTargetBytes) {
        return { state: 'too_large' };
      }
      const json = JSON.stringify(message);
      c.replace(current.seq, targetJson);
      c.push(message, json, false);
      rememberIdem(draft, json);
      publishSync(
        `conv:${draft.conversationId}`,
        origin === undefined
          ? { kind: 'message', message, json }
          : { kind: 'message', message, json, origin },
      );
      return { state: 'stored', message, target };
    },

    async message(conversationId, seq) {
      return conversations.get(conversationId)?.get(seq);
    },

    async claimSend(conversationId, senderId, clientMsgId, leaseMs): Promise<SendClaim> {
      const message = findIdem(conversationId, senderId, clientMsgId);
      if (message !== undefined) return { state: 'stored', message };
      const key = leaseKey(conversationId, senderId, clientMsgId);
      const left = leases.ttl(key);
      if (left !== undefined) return { state: 'busy', leaseMs: left };
      leases.set(key, true, leaseMs);
      return { state: 'claimed' };
    },

    async releaseSend(conversationId, senderId, clientMsgId) {
      leases.delete(leaseKey(conversationId, senderId, clientMsgId));
    },

    async findByClientId(conversationId, senderId, clientMsgId) {
      return findIdem(conversationId, senderId, clientMsgId);
    },

    async heads(ids) {
      const out = new Map<string, Head>();
      for (const id of ids) out.set(id, { seq: conversations.get(id)?.seq ?? 0, epoch });
      return out;
    },

    async range(conversationId, after, limit, maxBytes): Promise<RangeResult> {
      const c = conversations.get(conversationId);
      const head: Head = { seq: c?.seq ?? 0, epoch };
      const json = c === undefined ? [] : c.range(after, limit, maxBytes);
      if (json === undefined) return { head, complete: false, messages: [] };
      return lazyMessages({ head, complete: true }, json);
    },

    async page(conversationId, before, limit): Promise<PageResult> {
      const c = conversations.get(conversationId);
      if (c === undefined) return { messages: [], hasMore: false };
      const { json, hasMore } = c.page(before, limit);
      return lazyMessages({ hasMore }, json);
    },

    async setRead(conversationId, userId, seq) {
      return setReadNow(conversationId, userId, seq);
    },

    async reads(conversationId) {
      return Object.fromEntries(readPositions.get(conversationId) ?? []);
    },

    async inbox(userId, ids) {
      const out = new Map<string, InboxEntry>();
      for (const id of ids) {
        const c = conversations.get(id);
        c?.trim();
        const head: Head = { seq: c?.seq ?? 0, epoch };
        const reads = Object.fromEntries(readPositions.get(id) ?? []);
        const readSeq = reads[userId] ?? 0;
        const lastMessage = c?.lastCountable(head.seq);
        out.set(id, {
          head,
          reads,
          readSeq,
          unread: countUnread(c, readSeq, head.seq),
          ...(lastMessage === undefined ? {} : { lastMessage }),
        });
      }
      return out;
    },

    async unread(conversationId, userId, upTo) {
      const c = conversations.get(conversationId);
      const head = c?.seq ?? 0;
      const at = upTo === undefined ? head : Math.max(0, Math.min(upTo, head));
      const readSeq = readPositions.get(conversationId)?.get(userId) ?? 0;
      return { readSeq, count: countUnread(c, readSeq, at), at };
    },

    // The control mark doubles as the membership version: it only grows, and one process owns it.
    async addMembers(conversationId, userIds) {
      addMembersNow(conversationId, userIds);
      return ++mark;
    },

    async removeMembers(conversationId, userIds) {
      const m = ++mark;
      for (const u of userIds) removals.set(`${conversationId}\u0000${u}`, m, controlTtl);
      const s = memberSets.get(conversationId);
      if (s === undefined) return m;
      for (const u of userIds) s.delete(u);
      if (s.size === 0) memberSets.delete(conversationId);
      return m;
    },

    async restoreMember(conversationId, userId, since) {
      const removedAt = removals.get(`${conversationId}\u0000${userId}`);
      if (removedAt !== undefined && removedAt > since) return { member: false, version: mark };
      addMembersNow(conversationId, [userId]);
      return { member: true, version: mark };
    },

    async isMember(conversationId, userId) {
      return memberSets.get(conversationId)?.has(userId) ?? false;
    },

    async members(conversationId) {
      return [...(memberSets.get(conversationId) ?? [])];
    },

    async controlMark() {
      return mark;
    },

    async recordKick(userId, kick) {
      kicks.set(userId, { code: kick.code, reason: kick.reason, mark: ++mark }, controlTtl);
    },

    async kickedSince(userId, since) {
      const k = kicks.get(userId);
      return k === undefined || k.mark <= since ? undefined : { code: k.code, reason: k.reason };
    },

    async presenceConnect(userId, connectionId, ttlMs) {
      const wasOnline = isOnline(userId);
      const count = connections.connect(userId, connectionId, now() + ttlMs);
      graceUntil.delete(userId);
      return { wasOnline, connections: count };
    },

    async presenceRefresh(entries, ttlMs) {
      const exp = now() + ttlMs;
      for (const { userId, connectionId } of entries) {
        connections.refresh(userId, connectionId, exp);
      }
    },

    async presenceDisconnect(userId, connectionId, graceMs) {
      connections.disconnect(userId, connectionId);
      const remaining = liveCount(userId);
      if (remaining === 0) {
        const t = now();
        lastSeen.set(userId, t);
        if (graceMs > 0) graceUntil.set(userId, t + graceMs);
      }
      return { remaining };
    },

    async presence(userIds) {
      const out = new Map<string, PresenceRecord>();
      for (const u of userIds) {
        const online = isOnline(u);
        const seen = lastSeen.get(u);
        out.set(u, seen === undefined ? { online } : { online, lastSeenAt: seen });
      }
      return out;
    },

    async connectedUsers(userIds) {
      return new Set(userIds.filter((u) => liveCount(u) > 0));
    },

    async subscribe(topic, handler): Promise<Unsubscribe> {
      // Wrap so the same handler can be subscribed twice and removed once.
      const h = (e: Envelope): void => handler(e);
      subscribers.add(topic, h);
      return async () => {
        subscribers.delete(topic, h);
      };
    },

    async publish(topic, envelope) {
      publishSync(topic, envelope);
    },

    async close() {
      subscribers.clear();
    },
  };
}
