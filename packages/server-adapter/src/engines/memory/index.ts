/**
 * The default, single-process engine. Everything lives in Maps; every "atomic" operation of the
 * contract is naturally atomic because it runs synchronously on one event loop (the async
 * signatures only exist for the interface).
 */
import type { Message } from '@parley/protocol';
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
  type OperationResult,
  type PageResult,
  type PresenceRecord,
  type RangeResult,
  type SendClaim,
  type Topic,
  UNREAD_INDEX_MAX,
  type Unsubscribe,
} from '../types.js';
import { ExpiringMap } from './expiring.js';

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

interface ConversationState {
  seq: number;
  messages: Message[];
  /** Seqs of the countable messages, ascending (the newest {@link UNREAD_INDEX_MAX}). */
  countable: number[];
}

/** Index of the first element of a sorted array greater than `x`. */
const upperBound = (a: readonly number[], x: number): number => {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** Creates the in-memory engine. State is lost when the process stops (the epoch changes). */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  const maxMessages = options.history?.maxMessages ?? 1000;
  const maxAgeMs = options.history?.maxAgeMs ?? 7 * 24 * 3600_000;
  const maxIdem = options.idempotency?.maxEntries ?? 10_000;
  const idemTtl = options.idempotency?.ttlMs ?? 24 * 3600_000;
  const epoch =
    options.epoch ?? `m${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
  const now = options.now ?? Date.now;
  const controlTtl = options.control?.ttlMs ?? 10 * 60_000;
  const controlMax = options.control?.maxEntries ?? 100_000;

  const conversations = new Map<string, ConversationState>();
  // conversationId -> (senderId + clientMsgId) -> record, in insertion order for eviction.
  const idem = new Map<string, Map<string, { message: Message; at: number }>>();
  const readPositions = new Map<string, Map<string, number>>();
  const memberSets = new Map<string, Set<string>>();
  const connections = new Map<string, Map<string, number>>(); // userId -> connectionId -> expiresAt
  const graceUntil = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  const subscribers = new Map<Topic, Set<(e: Envelope) => void>>();
  let mark = 0;
  // conversationId \0 userId -> mark of the removal; userId -> latest kick; send leases.
  const removals = new ExpiringMap<number>(controlMax, now);
  const kicks = new ExpiringMap<Kick & { mark: number }>(controlMax, now);
  const leases = new ExpiringMap<true>(controlMax, now);
  const leaseKey = (conversationId: string, senderId: string, clientMsgId: string): string =>
    `${conversationId}\u0000${idemKey(senderId, clientMsgId)}`;

  const conv = (id: string): ConversationState => {
    let c = conversations.get(id);
    if (c === undefined) {
      c = { seq: 0, messages: [], countable: [] };
      conversations.set(id, c);
    }
    return c;
  };

  const trim = (c: ConversationState): void => {
    const cutoff = now() - maxAgeMs;
    let drop = Math.max(0, c.messages.length - maxMessages);
    while (drop < c.messages.length && c.messages[drop]!.createdAt < cutoff) drop++;
    if (drop > 0) c.messages.splice(0, drop);
  };

  const idemKey = (senderId: string, clientMsgId: string): string =>
    `${senderId}\u0000${clientMsgId}`;

  const findIdem = (conversationId: string, key: string): Message | undefined => {
    const records = idem.get(conversationId);
    const rec = records?.get(key);
    if (records === undefined || rec === undefined) return undefined;
    if (rec.at + idemTtl <= now()) {
      records.delete(key);
      return undefined;
    }
    return rec.message;
  };

  const rememberIdem = (conversationId: string, key: string, message: Message): void => {
    let records = idem.get(conversationId);
    if (records === undefined) {
      records = new Map();
      idem.set(conversationId, records);
    }
    records.set(key, { message, at: now() });
    const cutoff = now() - idemTtl;
    for (const [k, r] of records) {
      if (records.size <= maxIdem && r.at > cutoff) break;
      records.delete(k);
    }
  };

  const publishSync = (topic: Topic, envelope: Envelope): void => {
    const set = subscribers.get(topic);
    if (set === undefined) return;
    for (const handler of [...set]) handler(envelope);
  };

  const liveCount = (userId: string): number => {
    const conns = connections.get(userId);
    if (conns === undefined) return 0;
    const t = now();
    for (const [id, exp] of conns) {
      if (exp <= t) {
        conns.delete(id);
        if (!lastSeen.has(userId) || lastSeen.get(userId)! < exp) lastSeen.set(userId, exp);
      }
    }
    if (conns.size === 0) connections.delete(userId);
    return conns.size;
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
  const countUnread = (c: ConversationState | undefined, readSeq: number, at: number): number => {
    if (c === undefined || at <= readSeq) return 0;
    const n = upperBound(c.countable, at) - upperBound(c.countable, readSeq);
    return Math.min(n, UNREAD_INDEX_MAX);
  };

  /** The last countable message with `seq <= at`, as stored now (its current state). */
  const lastCountable = (c: ConversationState | undefined, at: number): Message | undefined => {
    if (c === undefined) return undefined;
    const i = upperBound(c.countable, at) - 1;
    if (i < 0) return undefined;
    const seq = c.countable[i]!;
    const first = c.messages[0];
    if (first === undefined || seq < first.seq) return undefined; // trimmed
    return c.messages[seq - first.seq];
  };

  /** Index of `seq` in the conversation's held messages (contiguous by seq), or -1. */
  const indexOf = (c: ConversationState, seq: number): number => {
    trim(c);
    const first = c.messages[0];
    if (first === undefined || seq < first.seq || seq > c.seq) return -1;
    return seq - first.seq;
  };

  const isOnline = (userId: string): boolean =>
    liveCount(userId) > 0 || (graceUntil.get(userId) ?? 0) > now();

  return {
    dedupeWindowMs: idemTtl,

    async append({ draft, origin }: AppendInput): Promise<AppendResult> {
      const key = idemKey(draft.senderId, draft.clientMsgId);
      leases.delete(`${draft.conversationId}\u0000${key}`);
      const existing = findIdem(draft.conversationId, key);
      if (existing !== undefined) return { message: existing, duplicate: true };
      const c = conv(draft.conversationId);
      const message: Message = { ...draft, seq: c.seq + 1 };
      c.seq = message.seq;
      c.messages.push(message);
      trim(c);
      if (isCountable(message)) {
        c.countable.push(message.seq);
        // Amortised: drop the oldest in batches rather than shifting on every append.
        if (c.countable.length > UNREAD_INDEX_MAX + 1000) c.countable.splice(0, 1000);
        setReadNow(draft.conversationId, message.senderId, message.seq); // sending marks read
      }
      rememberIdem(draft.conversationId, key, message);
      publishSync(
        `conv:${draft.conversationId}`,
        origin === undefined ? { kind: 'message', message } : { kind: 'message', message, origin },
      );
      return { message, duplicate: false };
    },

    async applyOperation({ draft, origin, maxTargetBytes }): Promise<OperationResult> {
      const key = idemKey(draft.senderId, draft.clientMsgId);
      leases.delete(`${draft.conversationId}\u0000${key}`);
      const existing = findIdem(draft.conversationId, key);
      if (existing !== undefined) return { state: 'duplicate', message: existing };
      const c = conversations.get(draft.conversationId);
      const at = c === undefined || draft.target === undefined ? -1 : indexOf(c, draft.target);
      if (c === undefined || at < 0 || !canOperateOn(c.messages[at])) return { state: 'not_found' };
      const message: Message = { ...draft, seq: c.seq + 1 };
      const target = applyToTarget(
        c.messages[at]!,
        message,
        maxTargetBytes === undefined ? {} : { maxBytes: maxTargetBytes },
      );
      if (target === 'too_many_reactions' || target === 'too_large') return { state: target };
      c.seq = message.seq;
      c.messages[at] = target;
      c.messages.push(message);
      trim(c);
      rememberIdem(draft.conversationId, key, message);
      publishSync(
        `conv:${draft.conversationId}`,
        origin === undefined ? { kind: 'message', message } : { kind: 'message', message, origin },
      );
      return { state: 'stored', message, target };
    },

    async message(conversationId, seq) {
      const c = conversations.get(conversationId);
      const at = c === undefined ? -1 : indexOf(c, seq);
      return at < 0 ? undefined : c!.messages[at];
    },

    async claimSend(conversationId, senderId, clientMsgId, leaseMs): Promise<SendClaim> {
      const message = findIdem(conversationId, idemKey(senderId, clientMsgId));
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
      return findIdem(conversationId, idemKey(senderId, clientMsgId));
    },

    async heads(ids) {
      const out = new Map<string, Head>();
      for (const id of ids) out.set(id, { seq: conversations.get(id)?.seq ?? 0, epoch });
      return out;
    },

    async range(conversationId, after, limit): Promise<RangeResult> {
      const c = conversations.get(conversationId);
      const head: Head = { seq: c?.seq ?? 0, epoch };
      if (c === undefined || after >= c.seq) return { head, complete: true, messages: [] };
      trim(c);
      const first = c.messages[0];
      const count = c.seq - after;
      if (first === undefined || first.seq > after + 1 || count > limit) {
        return { head, complete: false, messages: [] };
      }
      return { head, complete: true, messages: c.messages.slice(after + 1 - first.seq) };
    },

    async page(conversationId, before, limit): Promise<PageResult> {
      const c = conversations.get(conversationId);
      if (c === undefined) return { messages: [], hasMore: false };
      trim(c);
      let end = c.messages.length;
      if (before !== undefined) {
        const first = c.messages[0];
        end =
          first === undefined ? 0 : Math.max(0, Math.min(c.messages.length, before - first.seq));
      }
      const start = Math.max(0, end - limit);
      return { messages: c.messages.slice(start, end), hasMore: start > 0 };
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
        if (c !== undefined) trim(c);
        const head: Head = { seq: c?.seq ?? 0, epoch };
        const reads = Object.fromEntries(readPositions.get(id) ?? []);
        const readSeq = reads[userId] ?? 0;
        const lastMessage = lastCountable(c, head.seq);
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

    async addMembers(conversationId, userIds) {
      addMembersNow(conversationId, userIds);
    },

    async removeMembers(conversationId, userIds) {
      const m = ++mark;
      for (const u of userIds) removals.set(`${conversationId}\u0000${u}`, m, controlTtl);
      const s = memberSets.get(conversationId);
      if (s === undefined) return;
      for (const u of userIds) s.delete(u);
      if (s.size === 0) memberSets.delete(conversationId);
    },

    async restoreMember(conversationId, userId, since) {
      const removedAt = removals.get(`${conversationId}\u0000${userId}`);
      if (removedAt !== undefined && removedAt > since) return false;
      addMembersNow(conversationId, [userId]);
      return true;
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
      let conns = connections.get(userId);
      if (conns === undefined) {
        conns = new Map();
        connections.set(userId, conns);
      }
      conns.set(connectionId, now() + ttlMs);
      graceUntil.delete(userId);
      return { wasOnline, connections: conns.size };
    },

    async presenceRefresh(entries, ttlMs) {
      const exp = now() + ttlMs;
      for (const { userId, connectionId } of entries) {
        const conns = connections.get(userId);
        if (conns?.has(connectionId)) conns.set(connectionId, exp);
      }
    },

    async presenceDisconnect(userId, connectionId, graceMs) {
      const conns = connections.get(userId);
      conns?.delete(connectionId);
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
      let set = subscribers.get(topic);
      if (set === undefined) {
        set = new Set();
        subscribers.set(topic, set);
      }
      // Wrap so the same handler can be subscribed twice and removed once.
      const h = (e: Envelope): void => handler(e);
      set.add(h);
      return async () => {
        const s = subscribers.get(topic);
        s?.delete(h);
        if (s?.size === 0) subscribers.delete(topic);
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
