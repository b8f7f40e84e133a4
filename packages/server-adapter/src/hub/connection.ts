/**
 * One WebSocket connection: its lifecycle (hello -> starting -> open -> closed), the ONE ordered
 * path every change of what it may see runs on (session start, client frames, joins, leaves,
 * token refresh), and its close. Sending and the byte budget live in `outbound.ts`, the
 * per-conversation cursors in `cursors.ts`, the deadlines in `timers.ts`, decoding and rate limits
 * in `inbound.ts`, joins and leaves in `control.ts`.
 */
import type { ErrorFrame, Message, Profile, RawData, ServerFrame } from '@parley/protocol';
import type { JoinedEnvelope } from '../engines/types.js';
import { type HubContext, metric } from './context.js';
import { applyJoin, finishLeave } from './control.js';
import { Cursors } from './cursors.js';
import type { Deliverable, Registry } from './delivery.js';
import { onInbound } from './inbound.js';
import { RateLimiter } from './limits.js';
import type { RequestInfo } from './options.js';
import { type HubSocket, Outbound } from './outbound.js';
import type { PresenceTracker } from './presence.js';
import { Timers } from './timers.js';

export type { HubSocket } from './outbound.js';

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

type State = 'hello' | 'starting' | 'open' | 'closed';

/**
 * A `read` frame waiting in the queue. `folded`: the refs of later reads of the same conversation
 * folded into it, answered with it when it is refused (each ref gets its answer).
 */
export interface QueuedRead {
  conversationId: string;
  seq: number;
  ref?: string | undefined;
  folded?: string[];
}

/** Refs one waiting read answers for the reads folded into it (a bound on what it holds). */
const MAX_FOLDED_REFS = 64;
const foldedRefs = (r: QueuedRead): number => r.folded?.length ?? 0;

let counter = 0;
/**
 * Membership versions remembered per connection (see `Connection.newer`): at most ~256 × (an id
 * of ≤ 128 characters + ~60 B) ≈ 48 KB, and only on a socket that saw that many conversations'
 * joins and leaves. A late copy is late by milliseconds, not by 256 other changes.
 */
const MAX_VERSIONS = 256;

export class Connection implements Deliverable, ConnectionHandlers {
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
  readonly outbound: Outbound;
  readonly cursors: Cursors;
  readonly timers: Timers;
  readonly limiter: RateLimiter;
  /**
   * Per conversation, how many `joined`/`left` reached this socket: a join whose turn comes after
   * a later change of the same conversation arrived is stale and skipped (the later one decides).
   */
  /** Created on the first membership change (idle connections hold none, issue 15). */
  private controlSeq: Map<string, number> | undefined;
  /**
   * Per conversation, the membership version of the last change applied, so that a late copy
   * or an overtaken change is ignored (see `newer`; the session start's floor is on the cursor).
   * At most {@link MAX_VERSIONS} entries; created on the first versioned change.
   */
  private versions: Map<string, number> | undefined;
  /** The last task chained; unset until two tasks overlap (idle connections hold none). */
  private queue: Promise<void> | undefined;
  /** Made only when someone waits for the close (hub.close): idle connections hold none. */
  private closedWait: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set once the adapter reported the close (or the socket was terminated). */
  private ended = false;
  private terminateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly services: HubServices,
    readonly socket: HubSocket,
    readonly request: RequestInfo,
  ) {
    const c = services.ctx.config;
    this.id = `${Date.now().toString(36)}.${(counter++).toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
    this.limiter = new RateLimiter(c.rateBurst, c.ratePerSecond, c.floodThreshold);
    this.outbound = new Outbound(services.ctx, socket, this);
    this.cursors = new Cursors(this, this.outbound);
    this.timers = new Timers(services.ctx, this);
    services.connections.add(this);
    services.registry.register(this);
  }

  get ctx(): HubContext {
    return this.services.ctx;
  }

  /** A method (not a field read) so TypeScript does not narrow across awaits. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  isOpen(): boolean {
    return this.state === 'open';
  }

  /** Resolves when the adapter reported the close (or the socket was terminated). */
  get closed(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.closedWait === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.closedWait = { promise, resolve };
    }
    return this.closedWait.promise;
  }

  // -- ConnectionHandlers: the adapter calls these (methods, not closures per connection) ------

  onMessage(data: RawData): void {
    // Nothing a client sends may crash the process.
    try {
      onInbound(this, data);
    } catch (err) {
      this.ctx.logger.error({ err, connectionId: this.id }, 'parley: inbound frame failed');
      this.close(1011, 'internal error');
    }
  }

  onClose(code: number): void {
    this.closeCode ??= code;
    this.cleanup();
    clearTimeout(this.terminateTimer);
    this.end();
  }

  onPong(): void {
    this.timers.onPong();
  }

  /**
   * The ordered path: session start, client frames and membership changes run one at a time, in
   * arrival order, so a change lands between the frames it follows and precedes.
   */
  enqueue(task: () => Promise<void>): void {
    // An idle queue starts the task at once (issue 15: no promise hop per frame); a busy one
    // chains it. `pending` counts tasks not finished, so 0 means every earlier task is done.
    this.pending++;
    this.queue =
      this.pending === 1 || this.queue === undefined
        ? this.run(task)
        : this.queue.then(() => this.run(task));
  }

  private pending = 0;

  /**
   * `read` frames queued and not started yet, by conversation (issue 15). A read arriving while
   * one of its conversation waits only raises that frame's seq instead of queueing a task: reads
   * are monotonic, so the waiting task records the newest one, once. A membership change of the
   * conversation ends the folding (a read after a join never runs before it). Created on first use.
   */
  private queuedReads: Map<string, QueuedRead> | undefined;

  /** Queues a `read` task, or folds its seq (and ref) into the frame of its conversation waiting. */
  enqueueRead(frame: QueuedRead, task: () => Promise<void>): void {
    const waiting = this.queuedReads?.get(frame.conversationId);
    // A waiting frame answers at most MAX_FOLDED_REFS refs; past that a read queues its own task.
    if (
      waiting !== undefined &&
      (frame.ref === undefined || foldedRefs(waiting) < MAX_FOLDED_REFS)
    ) {
      waiting.seq = Math.max(waiting.seq, frame.seq);
      if (frame.ref !== undefined) {
        waiting.folded ??= [];
        waiting.folded.push(frame.ref);
      }
      return;
    }
    this.queuedReads ??= new Map();
    this.queuedReads.set(frame.conversationId, frame);
    this.enqueue(task);
  }

  /** A queued `read` starts: later reads of its conversation queue a task of their own. */
  readStarted(frame: QueuedRead): void {
    if (this.queuedReads?.get(frame.conversationId) === frame) {
      this.queuedReads.delete(frame.conversationId);
    }
  }

  private async run(task: () => Promise<void>): Promise<void> {
    try {
      if (this.state !== 'closed') await task();
    } catch (err) {
      this.ctx.logger.error(
        { err, connectionId: this.id, userId: this.userId },
        'parley: frame handling failed',
      );
      this.sendError({ code: 'internal', message: 'internal error' });
    } finally {
      // Nothing left to chain on: drop the settled promise (idle connections hold none).
      if (--this.pending === 0) this.queue = undefined;
    }
  }

  // -- sending --------------------------------------------------------------------------------

  /** Serialises and sends one frame built by the hub. */
  send(frame: ServerFrame, ephemeral = false): boolean {
    return this.outbound.send(JSON.stringify(frame), ephemeral);
  }

  sendError(e: Omit<ErrorFrame, 'type'>): void {
    this.send({ type: 'error', ...e, message: e.message.slice(0, 300) });
  }

  // -- Deliverable ----------------------------------------------------------------------------

  deliverMessage(message: Message, frame: string, origin: string | undefined, epoch?: string) {
    if (this.state === 'closed') return;
    this.cursors.deliver(message, frame, origin, epoch);
  }

  member(conversationId: string): boolean {
    return this.cursors.active(conversationId);
  }

  deliver(frame: string, ephemeral: boolean): void {
    if (this.state === 'starting') this.outbound.sendOrHold(frame, ephemeral);
    else if (this.state === 'open') this.outbound.send(frame, ephemeral);
  }

  /** The answer to this connection's own send, routed here although it is not subscribed. */
  ownMessage(message: Message): void {
    if (this.state !== 'closed') this.cursors.ack(message);
  }

  joined(e: JoinedEnvelope): void {
    if (this.state !== 'starting' && this.state !== 'open') return;
    if (!this.newer(e.conversationId, e.version)) return;
    const n = this.bumpControl(e.conversationId);
    this.queuedReads?.delete(e.conversationId);
    this.enqueue(() => applyJoin(this, e, n));
  }

  left(conversationId: string, version: number | undefined): void {
    if (this.state !== 'starting' && this.state !== 'open') return;
    if (!this.newer(conversationId, version)) return;
    this.bumpControl(conversationId);
    // Nothing more is delivered from now on; the `left` frame follows in order.
    const cursor = this.cursors.revoke(conversationId);
    this.queuedReads?.delete(conversationId);
    this.enqueue(async () => finishLeave(this, conversationId, cursor));
  }

  kick(code: number, reason: string): void {
    this.close(code, reason);
  }

  /**
   * Whether a membership change with this version comes after every one this socket applied for
   * the conversation (`MembershipVersion`), and if so records it. Unversioned changes (an engine
   * that does not number them) always apply, in arrival order.
   */
  private newer(conversationId: string, version: number | undefined): boolean {
    if (version === undefined) return true;
    const last = this.versions?.get(conversationId) ?? 0;
    if (version <= last || version <= (this.cursors.get(conversationId)?.version ?? 0))
      return false;
    this.versions ??= new Map();
    // Most recent last: past the bound the oldest goes. Only a copy that arrives after this
    // socket saw changes of 256 other conversations could then be applied again.
    this.versions.delete(conversationId);
    this.versions.set(conversationId, version);
    if (this.versions.size > MAX_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    return true;
  }

  /** Whether `n` (from {@link bumpControl}) is still the latest change of the conversation. */
  latestControl(conversationId: string, n: number): boolean {
    return this.controlSeq?.get(conversationId) === n;
  }

  private bumpControl(conversationId: string): number {
    this.controlSeq ??= new Map();
    const n = (this.controlSeq.get(conversationId) ?? 0) + 1;
    this.controlSeq.set(conversationId, n);
    return n;
  }

  /** Forgets the control count of a conversation once no change is pending for it. */
  settleControl(conversationId: string, n: number): void {
    if (this.controlSeq?.get(conversationId) === n) this.controlSeq.delete(conversationId);
  }

  // -- timers' callbacks ----------------------------------------------------------------------

  ping(): void {
    if (this.socket.ping === undefined) {
      // No WebSocket-level ping on this transport (Deno, crossws): an app-level `ping`, which
      // every client answers with `pong` (PROTOCOL.md); inbound.ts takes that as the answer.
      this.send({ type: 'ping', ref: 'hb' });
      return;
    }
    try {
      this.socket.ping();
    } catch {
      // A failing ping means a dead socket: the pong timeout terminates it.
    }
  }

  requestReauth(deadlineMs: number): void {
    this.send({ type: 'reauth', deadlineMs });
  }

  alive(): void {
    if (this.userId !== undefined) this.services.presence.refresh(this.userId, this.id);
  }

  // -- closing --------------------------------------------------------------------------------

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
    this.end();
  }

  private end(): void {
    this.ended = true;
    this.closedWait?.resolve();
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
    this.timers.clear();
    const { registry, presence, connections } = this.services;
    connections.delete(this);
    registry.unregister(this);
    const conversationIds = this.cursors.activeIds();
    for (const id of this.cursors.allIds()) registry.removeConversation(this, id);
    this.cursors.clear();
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
