/**
 * The connection: one WebSocket at a time, a state machine with ONE `setState` and ONE
 * `disconnect` path (centrifuge-js), full-jitter reconnects whose attempt counter resets only after
 * `minUptimeMs` of uptime (partysocket), an app-level heartbeat, a deadline for the `welcome`,
 * one token request at a time, the hub's rate limit mirrored, and lifecycle probes.
 */
import {
  type ClientFrame,
  type CloseAction,
  type CloseCode,
  closeAction,
  type EventSchemas,
  type HelloFrame,
  ProtocolError,
  type RawData,
  type ServerFrame,
  SUBPROTOCOL,
  type WelcomeFrame,
} from '@parley/protocol/core';
import { backoffDelay } from './backoff.js';
import type { LifecycleSignal } from './lifecycle.js';
import type { ResolvedOptions, WebSocketLike } from './options.js';
import { Pacer } from './pacer.js';
import { ClientCode, type ConnectionState, type StateChange } from './types.js';
import { noop } from './util.js';

/** Information about a scheduled reconnect. */
export interface ReconnectInfo {
  /** 1-based number of the attempt that will run after the delay. */
  attempt: number;
  delayMs: number;
  /** The code and reason that caused the disconnect. */
  code: number;
  reason: string;
}

/** What the connection tells its owner (the client). */
export interface ConnectionHandlers {
  /** Resume cursors for the `hello` frame. */
  _cursors(): HelloFrame['cursors'];
  /** A `welcome` arrived; called before `open` is announced so the outbox flushes first. */
  onWelcome(frame: WelcomeFrame): void;
  /** Any other frame. */
  onFrame(frame: ServerFrame): void;
  /** A welcomed link went down (`code`: why): in-flight requests go back to the outbox. */
  onDown(code: number): void;
  onState(change: StateChange): void;
  _reconnected(info: ReconnectInfo): void;
}

const OPEN = 1;
const CONNECTING = 0;

type DisconnectAction = CloseAction | 'offline';

export class Connection<E extends EventSchemas> {
  private _state: ConnectionState = 'connecting';
  private socket: WebSocketLike | undefined;
  private ready = false;
  private _attempt = 0;
  private openedAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The token request in flight: concurrent callers share it (one provider call). */
  private tokenRequest: Promise<string | undefined> | undefined;
  private reauthing = false;
  /** The hub's rate limit, mirrored: every frame sent spends from it; the outbox waits on it. */
  readonly pacer: Pacer;
  private lastRxAt = 0;
  private pingSentAt: number | undefined;
  private pingCount = 0;
  private shutdownHintMs: number | undefined;
  /** Bumped on every attempt so a stale async token fetch cannot open a second socket. */
  private generation = 0;
  private readonly stopLifecycle: () => void;

  constructor(
    private readonly o: ResolvedOptions<E>,
    private readonly h: ConnectionHandlers,
  ) {
    this.pacer = new Pacer(o.now);
    this.stopLifecycle = o.lifecycle.subscribe((s) => this.onLifecycle(s));
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** True between `welcome` and the next disconnect: frames may be sent. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Starts connecting (no-op when a socket exists or the client is closed). */
  connect(): void {
    if (this._state === 'closed' || this.socket !== undefined) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this._state === 'offline')
      this.setState('reconnecting', ClientCode.Connecting, 'connecting');
    void this.open();
  }

  /** Sends a frame (or an encoded one) on a welcomed link. Returns false (nothing sent) otherwise. */
  send(frame: ClientFrame | string): boolean {
    if (!this.ready || this.socket === undefined) return false;
    this.socket.send(typeof frame === 'string' ? frame : encode(frame));
    this.pacer.spend();
    return true;
  }

  /** Drops a live link and resumes on a new one (e.g. a gap fill got no answer). */
  restart(code: number, reason: string): void {
    if (this.ready) this.disconnect(code, reason, 'retry');
  }

  /** Checks the link now: ping when open (dead if unanswered in `timeoutMs`), connect when down. */
  probe(): void {
    if (this._state === 'closed') return;
    if (this.socket === undefined) {
      this.connect();
      return;
    }
    if (this.ready && this.pingSentAt === undefined) this.ping();
  }

  /** Closes for good. */
  close(code: number = ClientCode.ClientClosed, reason = 'client closed'): void {
    this.disconnect(code, reason, 'stop');
  }

  /**
   * Asks the token provider for a fresh token and sends it in-band (server `reauth`). A `reauth`
   * arriving while one is being answered is covered by that answer.
   */
  async reauth(): Promise<void> {
    if (this.reauthing) return;
    this.reauthing = true;
    try {
      const token = await this.token();
      if (token !== undefined) this.send({ type: 'auth', token });
    } catch (cause) {
      this.o.logger.warn({ err: cause }, 'parley: token provider failed on reauth');
    } finally {
      this.reauthing = false;
    }
  }

  /** One provider call at a time: concurrent callers (connect, reauth) share its answer. */
  private token(): Promise<string | undefined> {
    const t = this.o.token;
    this.tokenRequest ??= (async () => (typeof t === 'function' ? await t() : t))().finally(() => {
      this.tokenRequest = undefined;
    });
    return this.tokenRequest;
  }

  private async open(): Promise<void> {
    const gen = ++this.generation;
    let token: string | undefined;
    // A placeholder socket slot: `connect()` must not start a second attempt while the token loads.
    this.socket = placeholder;
    try {
      token = await this.token();
    } catch (cause) {
      if (gen !== this.generation) return;
      this.o.logger.warn({ err: cause }, 'parley: token provider failed');
      this.disconnect(ClientCode.TokenError, 'token provider failed', 'retry');
      return;
    }
    if (gen !== this.generation || this._state === 'closed') return;
    let ws: WebSocketLike;
    try {
      ws = new this.o.WebSocket(this.o.url, SUBPROTOCOL);
    } catch (cause) {
      this.o.logger.error({ err: cause }, 'parley: cannot create WebSocket');
      this.disconnect(1006 satisfies typeof CloseCode.Abnormal, 'cannot create WebSocket', 'retry');
      return;
    }
    this.socket = ws;
    this.welcomeTimer = setTimeout(
      () => this.disconnect(ClientCode.WelcomeTimeout, 'no welcome in time', 'retry'),
      this.o.welcomeTimeoutMs,
    );
    ws.onopen = () => {
      this.lastRxAt = this.o.now();
      const hello: HelloFrame = { type: 'hello', protocol: 1, cursors: this.h._cursors() };
      if (token !== undefined) hello.token = token;
      if (this.o.clientInfo.name !== undefined || this.o.clientInfo.version !== undefined) {
        hello.client = this.o.clientInfo;
      }
      try {
        ws.send(encode(hello));
      } catch (cause) {
        this.o.logger.error({ err: cause }, 'parley: cannot send hello');
        this.disconnect(4400 satisfies typeof CloseCode.BadRequest, 'invalid hello', 'stop');
        return;
      }
      this.armHeartbeat();
    };
    ws.onmessage = (ev: { data: unknown }) => {
      try {
        this.onMessage(ev.data);
      } catch (err) {
        // An app listener threw while a frame was applied: report it, keep the link.
        this.o.logger.error({ err }, 'parley: error while handling a server frame');
      }
    };
    ws.onclose = (ev: { code: number; reason: string }) => {
      this.disconnect(ev.code, ev.reason, closeAction(ev.code));
    };
    ws.onerror = (ev: unknown) => {
      this.o.logger.debug({ err: ev }, 'parley: socket error');
    };
  }

  private onMessage(data: unknown): void {
    this.lastRxAt = this.o.now();
    this.pingSentAt = undefined;
    let frame: ServerFrame;
    try {
      if (!isRawData(data)) throw new TypeError('unsupported WebSocket data');
      frame = this.o.decode(data);
    } catch (err) {
      const e = err instanceof ProtocolError ? { code: err.code, field: err.field } : { err };
      this.o.logger.warn(e, 'parley: dropped an invalid frame from the server');
      return;
    }
    switch (frame.type) {
      case 'welcome':
        if (this.ready) return;
        clearTimeout(this.welcomeTimer);
        this.ready = true;
        this.openedAt = this.o.now();
        this.pacer.reset(frame.limits.rate);
        try {
          this.h.onWelcome(frame);
        } finally {
          // Even if an app listener threw while the welcome was applied, the link is open.
          this.setState('open', ClientCode.Connected, 'connected');
        }
        return;
      case 'ping':
        this.socket?.send(
          encode(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref }),
        );
        return;
      case 'pong':
        return;
      case 'shutdown':
        this.shutdownHintMs = frame.retryAfterMs;
        return;
      case 'reauth':
        void this.reauth();
        return;
      case 'authed':
        this.o.logger.debug({}, 'parley: token refreshed in-band');
        return;
      default:
        this.h.onFrame(frame);
    }
  }

  private ping(): void {
    if (this.socket === undefined || this.socket.readyState !== OPEN) return;
    this.pingSentAt = this.o.now();
    this.socket.send(encode({ type: 'ping', ref: `p${++this.pingCount}` }));
    this.armHeartbeat();
  }

  /**
   * Timestamps, not timer counts, decide: a timer that fires late (hidden tab) only leads to a
   * ping, never to a false "dead" verdict; a dead link is declared `timeoutMs` after a ping.
   */
  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    const { intervalMs, timeoutMs } = this.o.heartbeat;
    const due =
      this.pingSentAt !== undefined ? this.pingSentAt + timeoutMs : this.lastRxAt + intervalMs;
    this.heartbeatTimer = setTimeout(() => this.checkHeartbeat(), Math.max(0, due - this.o.now()));
  }

  private checkHeartbeat(): void {
    const now = this.o.now();
    if (this.pingSentAt !== undefined && now - this.pingSentAt >= this.o.heartbeat.timeoutMs) {
      this.disconnect(ClientCode.DeadLink, 'heartbeat timeout', 'retry');
      return;
    }
    if (this.pingSentAt === undefined && now - this.lastRxAt >= this.o.heartbeat.intervalMs) {
      this.ping();
      return;
    }
    this.armHeartbeat();
  }

  private onLifecycle(signal: LifecycleSignal): void {
    if (this._state === 'closed') return;
    this.o.logger.debug({ signal }, 'parley: lifecycle signal');
    if (signal === 'offline') {
      if (this.socket === undefined) {
        this.setState('offline', ClientCode.Offline, 'offline');
      } else if (this.ready) {
        this.probe();
      }
      return;
    }
    // `online` and `visible`: reconnect at once when down, probe when up.
    this.probe();
  }

  /** THE disconnect path: every close, failure, dead link and `close()` goes through here. */
  private disconnect(code: number, reason: string, action: DisconnectAction): void {
    if (this._state === 'closed') return;
    const wasReady = this.ready;
    this.generation++;
    this.ready = false;
    this.pingSentAt = undefined;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.welcomeTimer);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const ws = this.socket;
    this.socket = undefined;
    if (ws !== undefined && ws !== placeholder)
      release(
        ws,
        code === ClientCode.DeadLink,
        action === 'stop' ? 'client closed' : 'client reconnecting',
      );
    const now = this.o.now();
    if (this.openedAt !== undefined && now - this.openedAt >= this.o.reconnect.minUptimeMs) {
      this._attempt = 0;
    }
    this.openedAt = undefined;
    if (wasReady) this.h.onDown(code);

    if (action === 'stop') {
      this.stopLifecycle();
      this.setState('closed', code, reason);
      return;
    }
    const r = this.o.reconnect;
    let delayMs: number;
    if (this.shutdownHintMs !== undefined) {
      // The server already jittered its hint; honour it (capped), without growing the window.
      delayMs = Math.min(this.shutdownHintMs, r.maxDelayMs);
      this.shutdownHintMs = undefined;
    } else {
      if (action === 'backoff') this._attempt = Math.max(this._attempt, r.overloadPenalty);
      delayMs = backoffDelay(this._attempt, r, this.o.random);
      this._attempt++;
    }
    // Offline: an `online` signal reconnects at once; the backoff timer still runs in case the
    // runtime's online flag is wrong (it only ever knows "definitely offline").
    const offline = action === 'offline' || !this.o.lifecycle.isOnline();
    this.setState(
      offline ? 'offline' : this._state === 'connecting' ? 'connecting' : 'reconnecting',
      code,
      reason,
    );
    this.h._reconnected({ attempt: this._attempt, delayMs, code, reason });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delayMs);
  }

  /** THE state setter. */
  private setState(to: ConnectionState, code: number, reason: string): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.h.onState({ from, to, code, reason });
  }
}

/**
 * Client frames are built by the client from values it validated (text length, JSON data, ids),
 * so they are serialised without a schema pass; the server validates every frame anyway.
 */
function encode(frame: ClientFrame): string {
  return JSON.stringify(frame);
}

function isRawData(data: unknown): data is RawData {
  return typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
}

/** Stands in for the socket while the token provider runs. */
const placeholder: WebSocketLike = {
  readyState: CONNECTING,
  send: noop,
  close: noop,
  onopen: null,
  onmessage: null,
  onclose: null,
  onerror: null,
};

/** Lets a socket go: its late events and errors are absorbed (partysocket). */
function release(ws: WebSocketLike, dead: boolean, reason: string): void {
  ws.onopen = noop;
  ws.onmessage = noop;
  ws.onclose = noop;
  ws.onerror = noop;
  try {
    const terminate = (ws as { terminate?: () => void }).terminate;
    // A dead link would wait for a close handshake that never comes; `ws` can cut it at once.
    if (dead && typeof terminate === 'function') terminate.call(ws);
    else if (ws.readyState === OPEN || ws.readyState === CONNECTING) ws.close(1000, reason);
  } catch {
    // closing a socket that already failed can throw in some implementations; nothing to do
  }
}
