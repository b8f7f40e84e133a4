/**
 * One WebSocket connection: its lifecycle (hello -> open -> closed), timers (hello timeout,
 * heartbeat, token expiry), outbound backpressure, and the per-conversation delivery cursor that
 * buffers live messages while a replay is being fetched.
 */
import {
  CloseCode,
  decodeClientFrame,
  ErrorCode,
  type ErrorFrame,
  type Message,
  type Profile,
  ProtocolError,
  type RawData,
  type ServerFrame,
} from '@parley/protocol';
import { type HubContext, metric } from './context.js';
import type { Deliverable, Registry } from './delivery.js';
import { handleFrame } from './handlers.js';
import { RateLimiter } from './limits.js';
import type { RequestInfo } from './options.js';
import type { PresenceTracker } from './presence.js';
import { joinConversation, startSession } from './session.js';

/** The minimal socket an adapter hands to the hub. */
export interface HubSocket {
  /** Queues a text frame. */
  send(data: string): void;
  /** Bytes queued but not yet written to the network. */
  bufferedAmount(): number;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Destroys the connection at once. */
  terminate(): void;
  /** Sends a WebSocket ping; without it the hub relies on the client's app-level pings. */
  ping?(): void;
}

/** What the adapter calls back into. */
export interface ConnectionHandlers {
  onMessage(data: RawData): void;
  onClose(code: number, reason: string): void;
  onPong(): void;
}

/** Services a connection uses. */
export interface HubServices {
  ctx: HubContext;
  registry: Registry;
  presence: PresenceTracker;
  connections: Set<Connection>;
}

interface ConvCursor {
  /** Highest seq delivered (or covered by a replay/reset) on this socket. */
  upTo: number;
  /** While a replay is being fetched: live frames held back, in arrival order. */
  buffer:
    | {
        message: Message;
        frame: string;
        origin: string | undefined;
        epoch: string | undefined;
      }[]
    | null;
  /** Epoch of the history `upTo` counts in (from welcome/joined/replay, or the live messages). */
  epoch: string | undefined;
}

type State = 'hello' | 'authenticating' | 'open' | 'closed';

const MAX_TIMER = 2_147_483_647;
let counter = 0;

export class Connection implements Deliverable {
  readonly id: string;
  /** When the socket was handed to the hub (ms since epoch). */
  readonly openedAt = Date.now();
  /** The close code the hub sent, or the peer's; reported to the metrics hook. */
  private closeCode: number | undefined;
  state: State = 'hello';
  userId: string | undefined;
  /** Set once the engine counts this connection in the user's presence. */
  presenceRegistered = false;
  profile: Profile | undefined;
  expiresAt: number | undefined;
  readonly convs = new Map<string, ConvCursor>();
  /** Refs of sends waiting for their fan-out, by conversation + clientMsgId. */
  readonly pendingAcks = new Map<string, string | undefined>();
  private queue: Promise<void> = Promise.resolve();
  /**
   * Frames fanned out after this socket subscribed and before its `welcome` (typing, reads,
   * events, presence changes of users who connected meanwhile); sent right after `welcome`.
   */
  private early: { frame: string; ephemeral: boolean }[] | null = [];
  /**
   * Bytes of replay frames recently queued. A replay is one frame that may exceed the hard limit
   * on its own; it is allowed on top of the limit until the buffer drains below the limit.
   */
  private replayCredit = 0;
  private readonly limiter: RateLimiter;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private terminateTimer: ReturnType<typeof setTimeout> | undefined;
  private closedResolve!: () => void;
  /** Resolves when the adapter reported the close (or the socket was terminated). */
  readonly closed = new Promise<void>((r) => {
    this.closedResolve = r;
  });

  constructor(
    readonly services: HubServices,
    readonly socket: HubSocket,
    readonly request: RequestInfo,
  ) {
    const c = services.ctx.config;
    this.id = `${Date.now().toString(36)}.${(counter++).toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
    this.limiter = new RateLimiter(c.rateBurst, c.ratePerSecond, c.floodThreshold);
    this.helloTimer = setTimeout(
      () => this.close(CloseCode.HelloTimeout, 'hello timeout'),
      c.helloTimeoutMs,
    );
    services.connections.add(this);
  }

  /** A method (not a field read) so TypeScript does not narrow across awaits. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  get ctx(): HubContext {
    return this.services.ctx;
  }

  handlers(): ConnectionHandlers {
    return {
      onMessage: (data) => {
        // Nothing a client sends may crash the process.
        try {
          this.onMessage(data);
        } catch (err) {
          this.ctx.logger.error({ err, connectionId: this.id }, 'parley: inbound frame failed');
          this.close(CloseCode.InternalError, 'internal error');
        }
      },
      onClose: (code) => this.onClosed(code),
      onPong: () => this.onPong(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Inbound
  // -------------------------------------------------------------------------------------------

  private onMessage(data: RawData): void {
    if (this.state === 'closed') return;
    this.ctx.counters.framesIn++;
    let frame: ReturnType<typeof decodeClientFrame>;
    try {
      frame = decodeClientFrame(data, { maxBytes: this.ctx.config.maxFrameBytes });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (err.code === ErrorCode.TooLarge && err.field === '') {
        this.close(CloseCode.MessageTooBig, 'frame too large');
      } else if (this.state === 'hello') {
        // A broken first frame: a bad hello (4400), or something else before hello (4401).
        const known = err.frameType !== undefined && err.frameType !== 'hello';
        this.close(
          known ? CloseCode.Unauthenticated : CloseCode.BadRequest,
          known ? 'hello required' : 'invalid hello',
        );
      } else {
        this.sendError({
          code: err.code,
          message: err.message,
          ...(err.field === '' ? {} : { field: err.field }),
          ...(err.ref === undefined ? {} : { ref: err.ref }),
        });
      }
      return;
    }
    if (this.state === 'hello') {
      // Any frame but hello before hello (a pong included) is 4401, as PROTOCOL.md says.
      if (frame.type !== 'hello') {
        this.close(CloseCode.Unauthenticated, 'hello required');
        return;
      }
      this.state = 'authenticating';
      clearTimeout(this.helloTimer);
      this.enqueue(() => startSession(this, frame));
      return;
    }
    if (frame.type === 'pong') return;
    if (frame.type === 'hello') {
      this.close(CloseCode.BadRequest, 'repeated hello');
      return;
    }
    if (frame.type === 'ping') {
      this.send({ type: 'pong', ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
      return;
    }
    const rate = this.limiter.take();
    if (!rate.ok) {
      this.ctx.counters.rateLimited++;
      metric(this.ctx, {
        type: 'rate_limited',
        flood: rate.flood,
        ...(this.userId === undefined ? {} : { userId: this.userId }),
      });
      if (rate.flood) {
        this.close(CloseCode.TooManyRequests, 'too many requests');
        return;
      }
      const ref = 'ref' in frame ? frame.ref : undefined;
      this.sendError({
        code: ErrorCode.RateLimited,
        message: 'rate limit exceeded',
        retryAfterMs: rate.retryAfterMs,
        ...(ref === undefined ? {} : { ref }),
        ...(frame.type === 'send'
          ? { conversationId: frame.conversationId, clientMsgId: frame.clientMsgId }
          : {}),
      });
      return;
    }
    this.enqueue(() => handleFrame(this, frame));
  }

  /** Frames of one connection are handled one at a time, in arrival order. */
  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.state === 'closed') return;
      try {
        await task();
      } catch (err) {
        this.ctx.logger.error(
          { err, connectionId: this.id, userId: this.userId },
          'parley: frame handling failed',
        );
        this.sendError({ code: ErrorCode.Internal, message: 'internal error' });
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Outbound
  // -------------------------------------------------------------------------------------------

  /** Serialises and sends one frame built by the hub. */
  send(frame: ServerFrame, ephemeral = false): boolean {
    return this.sendRaw(JSON.stringify(frame), ephemeral);
  }

  sendError(e: Omit<ErrorFrame, 'type'>): void {
    this.send({ type: 'error', ...e, message: e.message.slice(0, 300) });
  }

  /**
   * Sends a serialised frame, enforcing backpressure: past the soft limit ephemeral frames are
   * dropped; past the hard limit the socket is closed with 1013 and nothing more is queued.
   */
  sendRaw(frame: string, ephemeral = false, replay = false): boolean {
    if (this.state === 'closed') return false;
    const { softLimitBytes, hardLimitBytes } = this.ctx.config;
    const buffered = this.socket.bufferedAmount();
    if (buffered <= hardLimitBytes) this.replayCredit = 0;
    if (replay) this.replayCredit += frame.length * 3;
    if (ephemeral && buffered > softLimitBytes) {
      this.ctx.counters.droppedEphemeral++;
      return false;
    }
    try {
      this.socket.send(frame);
    } catch (err) {
      this.ctx.logger.debug({ err, connectionId: this.id }, 'parley: send failed');
      return false;
    }
    this.ctx.counters.framesOut++;
    const after = this.socket.bufferedAmount();
    if (after > hardLimitBytes + this.replayCredit) {
      this.ctx.counters.slowConsumerCloses++;
      metric(this.ctx, {
        type: 'slow_consumer',
        bufferedAmount: after,
        ...(this.userId === undefined ? {} : { userId: this.userId }),
      });
      this.ctx.logger.warn(
        { connectionId: this.id, userId: this.userId, bufferedAmount: after },
        'parley: slow consumer closed',
      );
      this.close(CloseCode.TryAgainLater, 'slow consumer');
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Deliverable
  // -------------------------------------------------------------------------------------------

  deliverMessage(
    message: Message,
    frame: string,
    origin: string | undefined,
    epoch?: string,
  ): void {
    const cur = this.convs.get(message.conversationId);
    if (cur === undefined || this.state === 'closed') return;
    if (cur.buffer !== null) {
      cur.buffer.push({ message, frame, origin, epoch });
      // A replay fetch that takes forever must not hold unbounded frames.
      if (cur.buffer.length > this.ctx.config.maxReplay) {
        this.close(CloseCode.TryAgainLater, 'fell behind');
      }
      return;
    }
    if (epoch !== undefined && cur.epoch !== undefined && epoch !== cur.epoch) {
      // The store lost its history (a flushed Redis) and seqs restarted under a new epoch: say so,
      // instead of dropping the new seqs as already delivered (a silent hole).
      cur.epoch = epoch;
      cur.upTo = message.seq - 1;
      this.send({
        type: 'reset',
        conversationId: message.conversationId,
        epoch,
        seq: cur.upTo,
        reason: 'epoch_changed',
      });
      metric(this.ctx, {
        type: 'reset',
        conversationId: message.conversationId,
        reason: 'epoch_changed',
      });
    }
    cur.epoch ??= epoch;
    if (message.seq <= cur.upTo) return;
    cur.upTo = message.seq;
    if (origin !== this.id) {
      this.sendRaw(frame);
      return;
    }
    // This connection's own send: answer with its ack at the message's place in the stream.
    const key = `${message.conversationId}\u0000${message.clientMsgId}`;
    const ref = this.pendingAcks.get(key);
    this.pendingAcks.delete(key);
    this.send({
      type: 'ack',
      ...(ref === undefined ? {} : { ref }),
      clientMsgId: message.clientMsgId,
      message,
      duplicate: false,
    });
  }

  deliver(frame: string, ephemeral: boolean): void {
    if (this.state === 'authenticating' && this.early !== null) {
      // Bounded like a replay buffer: a session start that takes forever must not hoard frames.
      if (this.early.length < this.ctx.config.maxReplay) this.early.push({ frame, ephemeral });
      return;
    }
    if (this.state !== 'open') return;
    this.sendRaw(frame, ephemeral);
  }

  /** Sends what {@link deliver} held back during the session start (right after `welcome`). */
  flushEarly(): void {
    const held = this.early ?? [];
    this.early = null;
    for (const h of held) this.sendRaw(h.frame, h.ephemeral);
  }

  /** Starts holding live messages of a conversation back (before its replay/joined). */
  hold(conversationId: string): void {
    this.convs.set(conversationId, { upTo: 0, buffer: [], epoch: undefined });
  }

  /** Marks `upTo` as covered and releases held messages above it, in order. */
  release(conversationId: string, upTo: number, epoch?: string): void {
    const cur = this.convs.get(conversationId);
    if (cur === undefined) return;
    const held = cur.buffer ?? [];
    cur.buffer = null;
    cur.upTo = Math.max(cur.upTo, upTo);
    cur.epoch = epoch ?? cur.epoch;
    for (const h of held) this.deliverMessage(h.message, h.frame, h.origin, h.epoch);
  }

  joined(conversationId: string): void {
    if (this.state !== 'open' || this.convs.has(conversationId)) return;
    this.enqueue(() => joinConversation(this, conversationId));
  }

  left(conversationId: string): void {
    if (!this.convs.delete(conversationId)) return;
    this.services.registry.removeConversation(this, conversationId);
    this.send({ type: 'left', conversationId });
  }

  kick(code: number, reason: string): void {
    this.close(code, reason);
  }

  // -------------------------------------------------------------------------------------------
  // Timers
  // -------------------------------------------------------------------------------------------

  /** Starts the heartbeat (after welcome). */
  startHeartbeat(): void {
    if (this.socket.ping === undefined) return;
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (this.state === 'closed') return;
      try {
        this.socket.ping?.();
      } catch {
        // A failing ping means a dead socket: the pong timeout below terminates it.
      }
      this.pongTimer = setTimeout(() => {
        this.ctx.counters.heartbeatTimeouts++;
        metric(this.ctx, {
          type: 'heartbeat.timeout',
          ...(this.userId === undefined ? {} : { userId: this.userId }),
        });
        this.ctx.logger.debug({ connectionId: this.id }, 'parley: heartbeat timeout');
        this.terminate();
      }, this.ctx.config.heartbeatTimeoutMs);
    }, this.ctx.config.heartbeatIntervalMs);
  }

  private onPong(): void {
    if (this.pongTimer === undefined || this.state === 'closed') return;
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (this.userId !== undefined && this.state === 'open') {
      this.ctx.engine
        .presenceRefresh(
          [{ userId: this.userId, connectionId: this.id }],
          this.services.presence.ttlMs,
        )
        .catch((err: unknown) => this.ctx.logger.warn({ err }, 'parley: presence refresh failed'));
    }
    this.startHeartbeat();
  }

  /** (Re)schedules the `reauth` request and the expiry close for the current credential. */
  scheduleExpiry(): void {
    clearTimeout(this.reauthTimer);
    clearTimeout(this.expiryTimer);
    if (this.expiresAt === undefined) return;
    const left = this.expiresAt - Date.now();
    const lead = this.ctx.config.refreshLeadMs;
    this.reauthTimer = setTimeout(
      () =>
        this.send({
          type: 'reauth',
          deadlineMs: Math.max(0, Math.round((this.expiresAt ?? 0) - Date.now())),
        }),
      Math.min(MAX_TIMER, Math.max(0, left - lead)),
    );
    this.expiryTimer = setTimeout(
      () => this.close(CloseCode.Unauthenticated, 'token expired'),
      Math.min(MAX_TIMER, Math.max(0, left)),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Closing
  // -------------------------------------------------------------------------------------------

  /** Closes with a code; the hub stops sending at once and terminates after `closeTimeoutMs`. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.closeCode = code;
    this.cleanup();
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
    this.terminateTimer = setTimeout(() => this.terminate(), this.ctx.config.closeTimeoutMs);
  }

  terminate(): void {
    this.cleanup();
    clearTimeout(this.terminateTimer);
    try {
      this.socket.terminate();
    } catch {
      // Already gone.
    }
    this.closedResolve();
  }

  private onClosed(code: number): void {
    this.closeCode ??= code;
    this.cleanup();
    clearTimeout(this.terminateTimer);
    this.closedResolve();
  }

  private cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    metric(this.ctx, {
      type: 'connection.close',
      code: this.closeCode ?? 1006,
      durationMs: Date.now() - this.openedAt,
      ...(this.userId === undefined ? {} : { userId: this.userId }),
    });
    for (const t of [
      this.helloTimer,
      this.pingTimer,
      this.pongTimer,
      this.reauthTimer,
      this.expiryTimer,
    ]) {
      clearTimeout(t);
    }
    const { registry, presence, connections } = this.services;
    connections.delete(this);
    const conversationIds = [...this.convs.keys()];
    for (const id of conversationIds) registry.removeConversation(this, id);
    this.convs.clear();
    if (this.userId !== undefined) {
      registry.removeUser(this, this.userId);
      if (this.presenceRegistered) {
        presence
          .disconnected(this.userId, this.id, conversationIds)
          .catch((err: unknown) => this.ctx.logger.warn({ err }, 'parley: presence update failed'));
      }
    }
  }
}
