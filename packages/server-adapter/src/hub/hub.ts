/**
 * `createHub`: wires the parts together and exposes the server API. The hub never touches a
 * socket library: adapters call `hub.admit(request)` at upgrade and `hub.open(socket, request)`
 * for every accepted WebSocket.
 */

import type { JsonValue } from '@parley/protocol';
import {
  CloseCode,
  type ConversationMeta,
  type EventInput,
  type EventName,
  type EventSchemas,
  type Message,
  type NoEvents,
  type Profile,
  SUBPROTOCOL,
} from '@parley/protocol';
import { createMemoryEngine } from '../engines/memory/index.js';
import type { Envelope, LeftEnvelope } from '../engines/types.js';
import { HubClosedError, HubUsageError } from '../errors.js';
import { silentLogger } from '../logger.js';
import {
  type Connection as Conn,
  Connection,
  type ConnectionHandlers,
  type HubServices,
  type HubSocket,
} from './connection.js';
import { callHook, type HubContext, invalidMessage, metric, withDeadline } from './context.js';
import { Registry } from './delivery.js';
import { notifyOffline } from './handlers.js';
import type { InboxRow } from './inbox.js';
import { shutdownHub, validatedEvent } from './lifecycle.js';
import { type ServerOperationInput, serverOperation } from './operations.js';
import { type HubOptions, type RequestInfo, resolveConfig } from './options.js';
import { PresenceTracker } from './presence.js';
import {
  conversationSummary,
  type HistoryPage,
  type HistoryQuery,
  history,
  notifyStored,
  updateConversation,
} from './reads.js';

/** A message published by server code (`hub.publish`). */
export interface PublishInput {
  text: string;
  data?: JsonValue;
  /** @default options.systemUserId ('system') */
  senderId?: string;
  sender?: Profile;
  /** Idempotency key (e.g. a webhook delivery id). @default a random id */
  clientMsgId?: string;
}

/** What `hub.publishResult` resolves with. */
export interface PublishResult {
  /** The stored message (for a repeated `clientMsgId`: the one stored the first time). */
  message: Message;
  /** True when `clientMsgId` was stored already: nothing new was stored or fanned out. */
  duplicate: boolean;
}

/** A custom event sent by server code. */
export interface HubEvent<E extends EventSchemas, K extends EventName<E>> {
  name: K;
  payload: EventInput<E, K>;
}

/** Why an upgrade is refused before it becomes a WebSocket. */
export interface UpgradeRejection {
  /** HTTP status to answer with: 403 (origin not allowed) or 503 (hub closing). */
  status: 403 | 503;
  reason: string;
}

/** Numbers for dashboards; cheap to call. */
export interface HubStats {
  /** Open sockets on this process, including ones not past `hello` yet. */
  connections: number;
  /** Sockets past `welcome`. */
  sessions: number;
  /** Distinct users with a session on this process. */
  users: number;
  /** Conversations with at least one local subscriber. */
  conversations: number;
  framesIn: number;
  framesOut: number;
  messagesStored: number;
  droppedEphemeral: number;
  rateLimited: number;
  slowConsumerCloses: number;
  heartbeatTimeouts: number;
  /**
   * Bytes the hub holds for all its sockets right now: their send buffers plus frames held back
   * (each socket's share is bounded by `backpressure.hardLimitBytes`).
   */
  bufferedBytes: number;
  closing: boolean;
}

/** The hub: server API plus the two entry points adapters use. */
export interface Hub<E extends EventSchemas = NoEvents> {
  /**
   * Stores and fans out a message from server code (system, bot, webhook). Rejects with
   * `HubUsageError` for an invalid message (text over 10,000 code points, JSON over
   * `limits.maxFrameBytes` + 16 KiB).
   */
  publish(conversationId: string, input: PublishInput): Promise<Message>;
  /** Like {@link Hub.publish}, and says whether `clientMsgId` was stored already. */
  publishResult(conversationId: string, input: PublishInput): Promise<PublishResult>;
  /**
   * A page of a conversation's stored messages (their current state), ascending by seq: the
   * newest `limit` before `before` (default: the head), or with `after` the oldest `limit` after
   * it. Rejects with `HubUsageError` for an invalid query. No membership check: the app asks.
   */
  history(conversationId: string, query?: HistoryQuery): Promise<HistoryPage>;
  /**
   * A user's inbox, as a client sees it after `welcome` and the `summary` frames: per
   * conversation of `conversationsOf(userId)`, its head, the user's read position and unread
   * count, the last countable message and the `conversationMeta` metadata; newest activity first.
   */
  conversationSummary(userId: string): Promise<InboxRow[]>;
  /**
   * A conversation's metadata changed: every member socket (on every process) gets a
   * `conversation` frame with `meta`. Rejects with `HubUsageError` for invalid metadata. The app
   * keeps the metadata itself; its `conversationMeta` hook must return the new value from now on.
   */
  updateConversation(conversationId: string, meta: ConversationMeta): Promise<void>;
  /**
   * Edits a stored message from server code (moderation, bots): stored as an `edit` operation
   * with its own seq and fanned out like a client's, without the `authorizeOperation` and
   * `persistOperation` hooks. Rejects with `HubUsageError` when `target` is not a held, undeleted
   * `user`/`system` message of the conversation, or the edit is invalid.
   */
  editMessage(
    conversationId: string,
    target: number,
    input: ServerOperationInput & { text: string; data?: JsonValue },
  ): Promise<PublishResult>;
  /** Deletes a stored message from server code (a tombstone), like {@link Hub.editMessage}. */
  deleteMessage(
    conversationId: string,
    target: number,
    input?: ServerOperationInput,
  ): Promise<PublishResult>;
  /** Sends a custom event to every socket of one user (on every process). */
  sendToUser<K extends EventName<E>>(userId: string, event: HubEvent<E, K>): Promise<void>;
  /** Sends a custom event to every member socket of a conversation. */
  emit<K extends EventName<E>>(conversationId: string, event: HubEvent<E, K>): Promise<void>;
  /**
   * Adds users to a conversation. Resolves once their sockets (on every process) will receive
   * everything published after it: each gets `joined` with the head read before it resolved, then
   * every message after that head.
   */
  join(conversationId: string, userIds: readonly string[]): Promise<void>;
  /**
   * Removes users from a conversation; their sockets stop receiving it at once (frames for it are
   * refused `forbidden`) and get `left`, in order.
   */
  leave(conversationId: string, userIds: readonly string[]): Promise<void>;
  /**
   * Closes every socket of a user on every process, also sockets whose session is starting.
   * @default code 4403, reason 'disconnected'
   */
  disconnectUser(userId: string, options?: { code?: number; reason?: string }): Promise<void>;
  stats(): HubStats;
  /**
   * Graceful shutdown: refuses new upgrades, sends `shutdown` (jittered `retryAfterMs`) then
   * closes every socket with 1012 in batches, detaches adapters, and closes the engine if the hub
   * created it. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** For adapters: checks an upgrade request (origin, closing). `null` means accept. */
  admit(request: RequestInfo): UpgradeRejection | null;
  /** For adapters: hands over an accepted WebSocket; returns the callbacks to wire. */
  open(socket: HubSocket, request: RequestInfo): ConnectionHandlers;
  /** For adapters: registers cleanup run by `close()` (e.g. detaching from the HTTP server). */
  onClose(dispose: () => Promise<void> | void): void;
  /** Frame size limit, for the adapter's `maxPayload`. */
  readonly maxFrameBytes: number;
}

/**
 * Where topics travel apart (`Engine.topicsOrdered` not true: a Redis Cluster), the kick also goes
 * on the topic of each of the user's conversations (`conversationsOf`, within the session start
 * deadline), ordered there with their messages: nothing published after `hub.disconnectUser`
 * resolved reaches the user's sockets. If the hook fails, the kick on the user's topic still
 * closes them, without that ordering; the failure is logged.
 */
async function kickInConversations(ctx: HubContext, userId: string, e: Envelope): Promise<void> {
  let ids: readonly string[];
  try {
    ids = await withDeadline(
      callHook('conversationsOf', () => ctx.options.conversationsOf(userId)),
      ctx.config.sessionStartTimeoutMs,
      'conversationsOf',
    );
  } catch (err) {
    metric(ctx, { type: 'hook.error', hook: 'conversationsOf' });
    ctx.logger.warn({ err, userId }, 'parley: disconnectUser could not list the conversations');
    return;
  }
  await Promise.all(
    ids
      .slice(0, ctx.config.maxConversationsPerUser)
      .map((id) => ctx.engine.publish(`conv:${id}`, e)),
  );
}

/** Creates a hub. See the package README for every option and its default. */
export function createHub<const E extends EventSchemas = NoEvents>(options: HubOptions<E>): Hub<E> {
  if (typeof options.authenticate !== 'function' || typeof options.conversationsOf !== 'function') {
    throw new TypeError('createHub: authenticate and conversationsOf are required');
  }
  const ownsEngine = options.engine === undefined;
  const ctx: HubContext = {
    options: options as unknown as HubOptions<EventSchemas>,
    config: resolveConfig(options as unknown as HubOptions<EventSchemas>),
    engine: options.engine ?? createMemoryEngine(),
    logger: options.logger ?? silentLogger,
    counters: {
      framesIn: 0,
      framesOut: 0,
      messagesStored: 0,
      droppedEphemeral: 0,
      rateLimited: 0,
      slowConsumerCloses: 0,
      heartbeatTimeouts: 0,
    },
    closing: false,
  };
  const registry = new Registry(ctx);
  const services: HubServices = {
    ctx,
    registry,
    presence: new PresenceTracker(ctx),
    connections: new Set<Conn>(),
  };
  services.presence.start();
  const started = registry.start();
  const disposers: (() => Promise<void> | void)[] = [];
  let closed: Promise<void> | undefined;

  const ensureOpen = (): void => {
    if (ctx.closing) throw new HubClosedError();
  };

  const validated = (name: string, payload: unknown, conversationId?: string) =>
    validatedEvent(ctx, name, payload, conversationId);

  const origins = options.origins;
  const originAllowed = (req: RequestInfo): boolean => {
    if (origins === undefined) return true;
    if (typeof origins === 'function') return origins(req.origin, req);
    return req.origin === undefined || origins.includes(req.origin);
  };

  const shutdown = (): Promise<void> =>
    shutdownHub(services, async () => {
      registry.abortStart();
      await started;
      await registry.stop();
      for (const d of disposers.splice(0)) {
        try {
          await d();
        } catch (err) {
          ctx.logger.warn({ err }, 'parley: adapter cleanup failed');
        }
      }
      if (ownsEngine) await ctx.engine.close();
    });

  const hub: Hub<E> = {
    maxFrameBytes: ctx.config.maxFrameBytes,

    async publish(conversationId, input) {
      return (await hub.publishResult(conversationId, input)).message;
    },

    async publishResult(conversationId, input) {
      ensureOpen();
      if (typeof conversationId !== 'string' || conversationId === '')
        throw new HubUsageError('conversationId is required');
      const message = {
        id: globalThis.crypto.randomUUID(),
        conversationId,
        clientMsgId: input.clientMsgId ?? `srv-${globalThis.crypto.randomUUID()}`,
        senderId: input.senderId ?? ctx.config.systemUserId,
        ...(input.sender === undefined ? {} : { sender: input.sender }),
        kind: 'system' as const,
        text: input.text,
        ...(input.data === undefined ? {} : { data: input.data }),
        createdAt: Date.now(),
      };
      const problem = invalidMessage(message, ctx.config.maxMessageBytes);
      if (problem !== undefined) throw new HubUsageError(problem);
      const result = await ctx.engine.append({ draft: message, leased: false });
      if (!result.duplicate) {
        ctx.counters.messagesStored++;
        metric(ctx, {
          type: 'message.stored',
          conversationId,
          kind: 'system',
          durationMs: Date.now() - message.createdAt,
        });
        notifyOffline(ctx, result.message);
        notifyStored(ctx, result.message);
      }
      return result;
    },

    async history(conversationId, query) {
      ensureOpen();
      return history(ctx, conversationId, query);
    },

    async conversationSummary(userId) {
      ensureOpen();
      return conversationSummary(ctx, userId);
    },

    async updateConversation(conversationId, meta) {
      ensureOpen();
      return updateConversation(ctx, conversationId, meta);
    },

    async editMessage(conversationId, target, input) {
      ensureOpen();
      const { text, data, ...rest } = input;
      const op = { kind: 'edit' as const, text, ...(data === undefined ? {} : { data }) };
      return serverOperation(ctx, conversationId, target, op, rest);
    },

    async deleteMessage(conversationId, target, input = {}) {
      ensureOpen();
      return serverOperation(ctx, conversationId, target, { kind: 'delete' }, input);
    },

    async sendToUser(userId, event) {
      ensureOpen();
      const payload = await validated(event.name, event.payload);
      await ctx.engine.publish(`user:${userId}`, {
        kind: 'event',
        name: event.name,
        from: ctx.config.systemUserId,
        payload,
      });
    },

    async emit(conversationId, event) {
      ensureOpen();
      const payload = await validated(event.name, event.payload, conversationId);
      await ctx.engine.publish(`conv:${conversationId}`, {
        kind: 'event',
        name: event.name,
        from: ctx.config.systemUserId,
        conversationId,
        payload,
      });
    },

    async join(conversationId, userIds) {
      ensureOpen();
      const version = await ctx.engine.addMembers(conversationId, userIds);
      // The head after the membership is recorded: each socket replays everything after it, so a
      // message published once this resolves reaches it however late the envelope arrives.
      const head = (await ctx.engine.heads([conversationId])).get(conversationId)!;
      await Promise.all(
        userIds.map(async (userId) => {
          // The read position and unread count at the head the socket starts from (issue 16).
          const u = await ctx.engine.unread(conversationId, userId, head.seq);
          await ctx.engine.publish(`user:${userId}`, {
            kind: 'joined',
            userId,
            conversationId,
            seq: head.seq,
            epoch: head.epoch,
            readSeq: u.readSeq,
            unread: u.count,
            ...(version === undefined ? {} : { version }),
          });
        }),
      );
    },

    async leave(conversationId, userIds) {
      ensureOpen();
      const version = await ctx.engine.removeMembers(conversationId, userIds);
      // With a version, also on the conversation's topic: ordered there with its messages on
      // every process, whatever the user's channel does (LeftEnvelope).
      const each = (userId: string): LeftEnvelope =>
        version === undefined
          ? { kind: 'left', userId, conversationId }
          : { kind: 'left', userId, conversationId, version };
      const sent = userIds.map((u) => ctx.engine.publish(`user:${u}`, each(u)));
      if (version !== undefined && userIds.length > 0) {
        const all: LeftEnvelope = { ...each(userIds[0]!), userIds: [...userIds] };
        sent.push(ctx.engine.publish(`conv:${conversationId}`, all));
      }
      await Promise.all(sent);
    },

    async disconnectUser(userId, opts = {}) {
      ensureOpen();
      const kick = {
        code: opts.code ?? CloseCode.Forbidden,
        reason: (opts.reason ?? 'disconnected').slice(0, 100),
      };
      // Recorded first: a session starting now, not yet subscribed to the user's topic, finds it.
      await ctx.engine.recordKick(userId, kick);
      const e = { kind: 'disconnect', userId, ...kick } as const;
      await Promise.all([
        ctx.engine.publish(`user:${userId}`, e),
        ctx.engine.topicsOrdered === true ? undefined : kickInConversations(ctx, userId, e),
      ]);
    },

    stats() {
      let sessions = 0;
      let bufferedBytes = 0;
      for (const c of services.connections) {
        if (c.state === 'open') sessions++;
        bufferedBytes += c.outbound.used();
      }
      return {
        connections: services.connections.size,
        sessions,
        users: registry.userCount,
        conversations: registry.conversationCount,
        ...ctx.counters,
        bufferedBytes,
        closing: ctx.closing,
      };
    },

    close() {
      closed ??= shutdown();
      return closed;
    },

    [Symbol.asyncDispose]() {
      return hub.close();
    },

    admit(request) {
      if (ctx.closing) return { status: 503, reason: 'closing' };
      let ok: boolean;
      try {
        ok = originAllowed(request);
      } catch (err) {
        ctx.logger.error({ err }, 'parley: origins check failed');
        ok = false;
      }
      return ok ? null : { status: 403, reason: 'origin not allowed' };
    },

    open(socket, request) {
      const conn = new Connection(services, socket, request);
      if (ctx.closing) conn.close(CloseCode.ServiceRestart, 'service restart');
      else if (request.protocols.length > 0 && !request.protocols.includes(SUBPROTOCOL)) {
        conn.close(CloseCode.SubprotocolNotAcceptable, 'unsupported protocol');
      }
      return conn;
    },

    onClose(dispose) {
      disposers.push(dispose);
    },
  };
  return hub;
}
