/**
 * The storage and fan-out contract behind a hub. The in-memory engine (`createMemoryEngine`) is
 * the default; a Redis engine implements the same interface so that any number of hub processes
 * behind a plain load balancer behave like one.
 *
 * Conventions for implementers:
 * - Every method may be called concurrently. The ones documented as atomic must behave as one
 *   indivisible step with respect to every other call on every process sharing the store.
 * - Methods reject only on infrastructure failure (store unreachable); the hub answers such a
 *   failure with an `unavailable` error frame. Invalid ids never reach the engine.
 * - Values are plain JSON: a Redis engine may serialise anything it is given with `JSON.stringify`.
 * - Run `test/engine-contract.ts` (`runEngineContract(factory)`) over the implementation.
 */
import type { ConversationMeta, Message } from '@parley/protocol';

/** Where a conversation stands: its newest seq and the identity of its history. */
export interface Head {
  /** Newest seq; `0` when the conversation has no message yet. */
  seq: number;
  /**
   * Opaque identity of the history. It must change whenever seqs could be reused or history was
   * lost (a fresh memory store, a flushed Redis), so that a client's cursor from the old history
   * is answered with `reset`. It must never change otherwise.
   */
  epoch: string;
}

/** A message before the engine assigns its seq. */
export type MessageDraft = Omit<Message, 'seq'>;

/**
 * The stored message: a copy of the draft with `seq` added last, so that its JSON is the draft's
 * with `,"seq":N` appended (what the Redis engine splices). `Object.assign` then a store, not
 * `{ ...draft, seq }`: on Node 20 the spread, and the stringify after it, made the memory
 * engine's append 13.3 µs instead of 10.2 (`bench/micro/memory-append.ts`, issue 15).
 */
export function withSeq(draft: MessageDraft, seq: number): Message {
  const message = Object.assign({}, draft) as Message;
  message.seq = seq;
  return message;
}

/** Input of {@link Engine.append}. */
export interface AppendInput {
  /** The message without `seq`; `clientMsgId` and `senderId` form the idempotency key. */
  draft: MessageDraft;
  /**
   * Opaque id of the connection that sent it (absent for server-published messages). Carried
   * unchanged in the published {@link MessageEnvelope} so that the hub can answer that one socket
   * with an `ack` instead of a `message`.
   */
  origin?: string;
  /**
   * False when the caller took no lease ({@link Engine.claimSend}) for this idempotency key, so
   * there is none to drop (one Redis call less per message, issue 15). Absent: the engine drops
   * the key's lease if one exists.
   */
  leased?: boolean;
}

/** Result of {@link Engine.append}. */
export interface AppendResult {
  /** The stored message (for a duplicate: the one stored the first time, unchanged). */
  message: Message;
  /** True when (conversationId, senderId, clientMsgId) was already stored: nothing was published. */
  duplicate: boolean;
}

/**
 * Result of {@link Engine.claimSend}: the message already stored under the idempotency key, or the
 * key's lease (the caller may now run the app's `persist` hook and `append`), or `busy` while
 * another send with the same key holds the lease.
 */
export type SendClaim =
  | { state: 'stored'; message: Message }
  | { state: 'claimed' }
  /** `leaseMs`: how long the lease has left (0 when unknown): when a retry can take it over. */
  | { state: 'busy'; leaseMs: number };

/**
 * Input of {@link Engine.applyOperation}: an operation on a stored message, before the engine
 * assigns its seq. `draft.kind` is `edit`, `delete` or `reaction`; `draft.target` is the seq of the
 * message it changes; an edit carries the new `text`/`data`, a reaction `reaction`.
 */
export interface OperationInput {
  /** `clientMsgId` and `senderId` form the idempotency key, shared with sends. */
  draft: MessageDraft;
  /** See {@link AppendInput.origin}. */
  origin?: string;
  /** Most UTF-8 bytes of the target's JSON after the operation (else `too_large`). */
  maxTargetBytes?: number;
}

/** Result of {@link Engine.applyOperation}. */
export type OperationResult =
  /** Stored: the operation with its seq, and the target's state after it. */
  | { state: 'stored'; message: Message; target: Message }
  /** The idempotency key was stored already: nothing was published. */
  | { state: 'duplicate'; message: Message }
  /** The target is not a countable message the history holds, or it is deleted. */
  | { state: 'not_found' }
  /** A reaction would give the target more than `Limits.MAX_REACTION_KINDS` distinct emoji. */
  | { state: 'too_many_reactions' }
  /** The target's new state would be over `maxTargetBytes`. */
  | { state: 'too_large' };

/** A `hub.disconnectUser` as recorded by {@link Engine.recordKick}. */
export interface Kick {
  code: number;
  reason: string;
}

/** Result of {@link Engine.range}. */
export interface RangeResult {
  head: Head;
  /**
   * True when `messages` is exactly every message with `after < seq <= head.seq`, in seq order.
   * False when the history no longer holds all of them (trimmed by count or age) or there are more
   * than `limit`; then `messages` is empty — the hub never sends a partial replay.
   */
  complete: boolean;
  messages: Message[];
  /**
   * Optional: the JSON text of each of `messages`, in the same order, as the engine holds it
   * (parsing it gives the message; the built-in engines hold `JSON.stringify` of it). The hub
   * splices it into a replay instead of serialising every message again. An engine may parse
   * `messages` only when they are read if its JSON is known to be valid (the memory engine wrote
   * it itself); one reading another store's bytes should parse them first (the Redis engine does),
   * so that what it holds is checked before any client gets it.
   */
  json?: readonly string[];
}

/** Result of {@link Engine.page}. */
export interface PageResult {
  /** Up to `limit` messages with `seq < before`, the newest ones, in ascending seq order. */
  messages: Message[];
  /** True when the history holds messages older than the first one returned. */
  hasMore: boolean;
  /** Optional, as {@link RangeResult.json}: the JSON of each of `messages`, in the same order. */
  json?: readonly string[];
}

/**
 * Kinds counted as unread (PROTOCOL.md, "Unread counts"): messages, not operations on them.
 * Every engine keeps an index of the countable seqs of a conversation (appended by `append`) so
 * that a count is one range count, never a scan of the history.
 */
export const COUNTABLE_KINDS: ReadonlySet<Message['kind']> = new Set(['user', 'system']);

/** Countable seqs an engine indexes per conversation: unread counts are exact up to this. */
export const UNREAD_INDEX_MAX = 10_000;

/** Whether a message counts as unread (its kind is `user` or `system`). */
export const isCountable = (m: Pick<Message, 'kind'>): boolean => COUNTABLE_KINDS.has(m.kind);

/**
 * A user's unread count in one conversation: the countable messages with
 * `readSeq < seq <= at`. Own messages are never among them: `append` of a countable message
 * raises its sender's read position to it ("sending marks read"), atomically with storing it.
 * Engines may bound the index (the memory and Redis engines keep the newest 10,000 countable seqs
 * per conversation), so a count is exact up to that bound.
 */
export interface UnreadCount {
  readSeq: number;
  count: number;
  /** The seq the count goes up to. */
  at: number;
}

/** Result of {@link Engine.inbox} for one conversation. */
export interface InboxEntry {
  head: Head;
  /** Every stored read position of the conversation, by user id (this user's included). */
  reads: Record<string, number>;
  /** This user's read position. */
  readSeq: number;
  /** Countable messages after `readSeq`, up to `head.seq`. */
  unread: number;
  /** The last countable message with `seq <= head.seq`, in its current state, if still stored. */
  lastMessage?: Message;
}

/** Presence of one user as the engine sees it. */
export interface PresenceRecord {
  /** True while the user has at least one live connection, or is inside the grace period. */
  online: boolean;
  /** When the user's last connection went away (ms since epoch), if known. */
  lastSeenAt?: number;
}

/** A stored message, published on the conversation's topic by {@link Engine.append}. */
export interface MessageEnvelope {
  kind: 'message';
  message: Message;
  /** See {@link AppendInput.origin}. */
  origin?: string;
  /**
   * Epoch of the history the message was stored in. Engines whose history can be lost while the
   * hub runs (Redis: FLUSHALL, a restart without persistence) set it; when it differs from the
   * epoch a socket is at, the hub sends `reset` (epoch_changed) before the message instead of
   * discarding the restarted seqs as already delivered.
   */
  epoch?: string;
  /**
   * The message as JSON, exactly as published (`JSON.parse(json)` deep-equals `message`), when
   * the engine received it as text: the hub builds the fan-out frame from it instead of encoding
   * the message again (issue 15). Optional; engines that pass objects leave it out.
   */
  json?: string;
}

/** Everything the hub fans out between processes. Topics are documented on {@link Topic}. */
export type Envelope =
  | MessageEnvelope
  | { kind: 'typing'; conversationId: string; userId: string; state: 'start' | 'stop' }
  | {
      kind: 'read';
      conversationId: string;
      userId: string;
      seq: number;
      origin?: string;
      /**
       * On `user:<userId>` only: the reader's unread count after this read, up to `at` (issue 16).
       * The reader's sockets get it from there; the conversation topic carries the read for the
       * other members.
       */
      unread?: { count: number; at: number };
    }
  | {
      kind: 'event';
      name: string;
      from: string;
      payload: unknown;
      conversationId?: string;
      /** Do not deliver to this user's sockets (the sender of a conversation event). */
      exceptUserId?: string;
    }
  | {
      kind: 'presence';
      userId: string;
      online: boolean;
      lastSeenAt?: number;
      /** The user's conversations: sockets subscribed to any of them receive the change. */
      conversationIds: string[];
    }
  | JoinedEnvelope
  | LeftEnvelope
  /** `hub.updateConversation` (on `conv:<id>`): every member socket gets a `conversation` frame. */
  | { kind: 'conversation'; conversationId: string; meta: ConversationMeta }
  | { kind: 'disconnect'; userId: string; code: number; reason: string };

/**
 * A number that grows with every membership change (`hub.join`, `hub.leave`) of one conversation,
 * taken atomically with the change, and never goes back (the Redis engine starts a lost counter
 * again from the clock in microseconds). Carried by `joined` and `left` envelopes: a socket
 * applies a change only when its version is above the last one it applied for that conversation,
 * so a copy that arrives late, or a change overtaken by a later one on another channel, is
 * ignored.
 */
export type MembershipVersion = number;

/**
 * What {@link Engine.restoreMember} found: whether the user is a member, with the conversation's
 * {@link MembershipVersion} at that moment when the engine numbers changes. The starting session
 * ignores `joined`/`left` envelopes at or below that version: the membership it read already
 * reflects them (a leave's copy delayed on another connection must not revoke a conversation the
 * user re-joined before the session started). Not for a conversation a leave revoked during the
 * start: that socket no longer reflects the read, and a re-join must still apply.
 */
export type RestoredMember = boolean | { member: boolean; version: MembershipVersion };

/**
 * `hub.leave` reached a user. Published on `user:<id>` and, when the engine numbers membership
 * changes (`version` set), on `conv:<id>` too: there it is ordered with the conversation's
 * messages on every process, so nothing published after `hub.leave` resolved reaches the removed
 * user, even where the user's channel and the conversation's are different connections (a Redis
 * Cluster). The copy that comes second has the same version and is ignored.
 */
export interface LeftEnvelope {
  kind: 'left';
  userId: string;
  conversationId: string;
  version?: MembershipVersion;
  /**
   * On `conv:<id>` only: every user this `hub.leave` removed (`userId` is the first), so that a
   * leave of many members is one envelope and one pass over the conversation's sockets.
   */
  userIds?: string[];
}

/**
 * `hub.join` reached a user (on `user:<id>`). `seq`/`epoch`: the conversation's head read after the
 * membership was recorded and before `hub.join` resolved; each socket subscribes, says `joined`
 * with this head and replays everything after it, so nothing published after `hub.join` resolved
 * is missed, whatever the pub/sub latency.
 */
export interface JoinedEnvelope {
  kind: 'joined';
  userId: string;
  conversationId: string;
  seq: number;
  epoch: string;
  /** The user's read position and unread count at `seq` (issue 16; absent from older hubs). */
  readSeq?: number;
  unread?: number;
  /** See {@link MembershipVersion}; absent when the engine does not number membership changes. */
  version?: MembershipVersion;
}

/**
 * Fan-out topics: `conv:<conversationId>` (messages, typing, reads, conversation events, and a
 * copy of each versioned `left`, see {@link LeftEnvelope}), `user:<userId>` (events to one user,
 * `joined`, `left`, `disconnect`) and `presence` (every presence change, filtered by each
 * process).
 */
export type Topic = `conv:${string}` | `user:${string}` | 'presence';

/** Stops a subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;

/** The engine contract. Every method is async so that a networked store fits. */
export interface Engine {
  /**
   * How long an idempotency record is kept (the dedupe window), in ms, if bounded by time. The hub
   * announces it in `welcome.limits.dedupeWindowMs` so that clients stop retrying before it ends.
   */
  readonly dedupeWindowMs?: number;
  /**
   * True when each process receives every topic over one ordered stream, so an envelope published
   * on `user:<id>` reaches it before anything published on a `conv:` topic afterwards (memory, one
   * Redis). False or absent (a Redis Cluster, where each shard is its own connection): the hub
   * then also sends a `hub.disconnectUser` kick on each of the user's conversations' topics, so
   * that it is ordered with their messages.
   */
  readonly topicsOrdered?: boolean;
  /**
   * Stores a message. ONE atomic operation that:
   * 1. looks up the idempotency record (draft.conversationId, draft.senderId, draft.clientMsgId);
   *    if present (and not expired), returns `{ message: <stored>, duplicate: true }` and does
   *    nothing else;
   * 2. otherwise allocates the conversation's next seq (`head.seq + 1`, starting at 1),
   * 3. stores the message in the history (trimming by count/age),
   * 4. writes the idempotency record (kept for a bounded time and a bounded number per
   *    conversation; the memory engine: 24 h, 10,000),
   * 5. publishes `{ kind: 'message', message, origin }` on `conv:<conversationId>`,
   * 6. drops the key's send lease ({@link Engine.claimSend}), if any.
   * 7. for a countable message ({@link isCountable}): adds its seq to the conversation's index of
   *    countable seqs and raises the sender's read position to it ("sending marks read"; no read
   *    envelope is published). Operations (other kinds) do neither.
   * Because allocation and publication are one step, every subscriber receives a conversation's
   * messages in seq order, with no gaps.
   */
  append(input: AppendInput): Promise<AppendResult>;

  /**
   * Stores an operation on a stored message (edit, delete, reaction). ONE atomic operation that:
   * 1. returns `{ state: 'duplicate', message }` if the idempotency record of (conversationId,
   *    senderId, clientMsgId) exists (sends and operations share the key space);
   * 2. returns `not_found` unless the history holds the target seq as a countable (`user`/`system`)
   *    message that is not deleted, `too_many_reactions` if a reaction would pass the limit,
   *    `too_large` if the target's new state would be over `maxTargetBytes`;
   * 3. otherwise allocates the next seq for the operation, stores it in the history like
   *    {@link Engine.append} (trim, idempotency record, lease dropped), publishes it on
   *    `conv:<conversationId>` with its origin, and
   * 4. replaces the target's stored record by its current state (see `applyToTarget` in
   *    `engines/operations.ts`, `version` = the operation's seq), so that `range`, `page` and
   *    {@link Engine.message} return the target as it is now.
   */
  applyOperation(input: OperationInput): Promise<OperationResult>;

  /** The stored message with this seq, in its current state, if the history holds it. Read-only. */
  message(conversationId: string, seq: number): Promise<Message | undefined>;

  /**
   * Starts a client send. ONE atomic step: if the idempotency record of (conversationId, senderId,
   * clientMsgId) exists, returns `{ state: 'stored', message }`; else, if another send holds the
   * key's lease, `{ state: 'busy' }`; else takes the lease for `leaseMs` and returns
   * `{ state: 'claimed' }`. So the app's `persist` hook runs once per message even when a retry
   * reaches another socket (or process) while the first attempt is still inside it. `append` and
   * {@link Engine.releaseSend} drop the lease.
   */
  claimSend(
    conversationId: string,
    senderId: string,
    clientMsgId: string,
    leaseMs: number,
  ): Promise<SendClaim>;

  /** Drops a lease taken by {@link Engine.claimSend} (the send failed). Idempotent. */
  releaseSend(conversationId: string, senderId: string, clientMsgId: string): Promise<void>;

  /** The stored message for an idempotency key, if the record still exists. Read-only. */
  findByClientId(
    conversationId: string,
    senderId: string,
    clientMsgId: string,
  ): Promise<Message | undefined>;

  /** Heads of the given conversations; a conversation never written has `{ seq: 0, epoch }`. */
  heads(conversationIds: readonly string[]): Promise<Map<string, Head>>;

  /**
   * Every message after `after`, up to the head read in the same atomic step, if the history
   * covers them all and there are at most `limit`. `after >= head.seq` gives an empty, complete
   * result. Never returns a partial range. `maxBytes` (optional): an engine that can measure the
   * messages' JSON cheaply (UTF-8 bytes) returns `complete: false` without the messages when they
   * exceed it, so that a too large replay is never materialised; the hub enforces the bound anyway.
   */
  range(
    conversationId: string,
    after: number,
    limit: number,
    maxBytes?: number,
  ): Promise<RangeResult>;

  /** A page of older messages: the newest `limit` ones with `seq < before` (`before` omitted: all). */
  page(conversationId: string, before: number | undefined, limit: number): Promise<PageResult>;

  /**
   * Raises a user's read position to `seq` (atomic compare-and-set: a lower or equal value is
   * ignored). Returns the position after the call and whether it moved.
   */
  setRead(
    conversationId: string,
    userId: string,
    seq: number,
  ): Promise<{ seq: number; advanced: boolean }>;

  /** Every stored read position of the conversation, by user id. */
  reads(conversationId: string): Promise<Record<string, number>>;

  /**
   * Where a user stands in each conversation, each read in ONE atomic step per conversation (a
   * Redis engine pipelines one call per conversation, never one script over several): the head,
   * the read positions, the user's unread count up to the head (see {@link UnreadCount}) and the
   * last countable message at or below the head, read from the stored record (its current state),
   * if the history still holds it.
   */
  inbox(userId: string, conversationIds: readonly string[]): Promise<Map<string, InboxEntry>>;

  /**
   * The user's read position and unread count in one conversation, counted up to `upTo` (default:
   * the head), atomically with the head it returns as `at` (`min(upTo, head)`).
   */
  unread(conversationId: string, userId: string, upTo?: number): Promise<UnreadCount>;

  /**
   * Records members of a conversation (`hub.join`), clearing their removal records (see
   * {@link Engine.removeMembers}). Returns the conversation's membership version after the change
   * (see {@link MembershipVersion}), or `undefined` from an engine that does not number them.
   */
  addMembers(
    conversationId: string,
    userIds: readonly string[],
  ): Promise<MembershipVersion | undefined>;
  /**
   * Forgets members of a conversation (`hub.leave`). Atomically with it, takes the next control
   * mark ({@link Engine.controlMark}) and records "removed at that mark" per user, kept for the
   * engine's control record lifetime (at least 10 minutes) and a bounded number per conversation.
   * Returns the membership version after the change, as {@link Engine.addMembers} does.
   */
  removeMembers(
    conversationId: string,
    userIds: readonly string[],
  ): Promise<MembershipVersion | undefined>;
  /**
   * Records a member learned from `conversationsOf` at session start, unless the user was removed
   * from the conversation after `since` (a mark read before the session start called
   * `conversationsOf`): a `hub.leave` that lands during a session start wins over the possibly
   * older list. ONE atomic step. Returns whether the user is a member after the call, and from
   * an engine that numbers membership changes, the conversation's version read in that step.
   */
  restoreMember(conversationId: string, userId: string, since: number): Promise<RestoredMember>;
  /** Whether the user is a recorded member of the conversation. */
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /** The members recorded for a conversation. */
  members(conversationId: string): Promise<string[]>;

  /**
   * The current control mark: a counter shared by every process that only grows. Taken by
   * {@link Engine.removeMembers} and {@link Engine.recordKick}; read at the start of a session so
   * that changes landing while it starts are not lost.
   */
  controlMark(): Promise<number>;
  /**
   * `hub.disconnectUser`: takes the next control mark and records the kick under it for the
   * control record lifetime, before the hub publishes it. A session that started before the kick
   * but subscribed to the user's topic after it finds the kick with {@link Engine.kickedSince}.
   */
  recordKick(userId: string, kick: Kick): Promise<void>;
  /** The user's latest recorded kick, if it was recorded after `since`. */
  kickedSince(userId: string, since: number): Promise<Kick | undefined>;

  /**
   * Registers a live connection of a user that expires after `ttlMs` unless refreshed (so a
   * crashed process's connections disappear). Returns whether the user was online (a live
   * connection or inside a grace period) just before this call — atomically with the insert, so
   * that exactly one process sees the offline -> online transition — and the number of the
   * user's live connections including this one (the hub's per-user socket cap).
   */
  presenceConnect(
    userId: string,
    connectionId: string,
    ttlMs: number,
  ): Promise<{ wasOnline: boolean; connections: number }>;
  /** Extends the expiry of live connections (called on every heartbeat). */
  presenceRefresh(
    entries: readonly { userId: string; connectionId: string }[],
    ttlMs: number,
  ): Promise<void>;
  /**
   * Removes a connection. When it was the user's last one, the user stays online for `graceMs`
   * (so a quick reconnect does not flap) and `lastSeenAt` becomes now. Returns the number of live
   * connections left.
   */
  presenceDisconnect(
    userId: string,
    connectionId: string,
    graceMs: number,
  ): Promise<{ remaining: number }>;
  /**
   * Optional. Claims the users that went offline since the last call: their last connection was
   * removed and the grace period elapsed, or their connections expired (a crashed process never
   * called `presenceDisconnect`). Each transition is returned once, to one caller on one process.
   * When present, the hub calls it periodically instead of running its own grace timers.
   */
  presenceSweep?(limit?: number): Promise<{ userId: string; lastSeenAt: number }[]>;
  /** Presence of each user (expired connections and elapsed grace periods do not count). */
  presence(userIds: readonly string[]): Promise<Map<string, PresenceRecord>>;
  /** The users among `userIds` that have at least one live connection right now (grace ignored). */
  connectedUsers(userIds: readonly string[]): Promise<Set<string>>;

  /**
   * Subscribes to a topic. Resolves once every envelope published after the call resolves will be
   * delivered to `handler`. A process receives each envelope once per subscription, in
   * publication order per topic. The handler must not throw (the hub's never does).
   * Subscriptions are independent: the hub may subscribe to a topic again before the previous
   * subscription's `Unsubscribe` has settled, and unsubscribing one must not affect the other.
   * The hub holds at most one live subscription per topic per hub (it reference-counts locally).
   */
  subscribe(topic: Topic, handler: (envelope: Envelope) => void): Promise<Unsubscribe>;
  /** Publishes to every subscriber of the topic on every process (including this one). */
  publish(topic: Topic, envelope: Envelope): Promise<void>;

  /** Releases timers and connections. The hub calls it on `hub.close()` only if it created it. */
  close(): Promise<void>;
}
