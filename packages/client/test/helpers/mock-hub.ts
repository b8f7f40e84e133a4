/**
 * A tiny in-process hub on msw's WebSocket mocking, for unit tests that assert exact frames and
 * timing. Node 20 has no global WebSocket, so `ws` is installed as the global the interceptor
 * patches; clients get `WebSocket: globalThis.WebSocket` (the patched class).
 */
import type {
  ClientFrame,
  ConversationMeta,
  Message,
  NoEvents,
  ServerFrame,
  WelcomeFrame,
} from '@parley/protocol';
import { type WebSocketHandlerConnection, ws } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  type ParleyClient,
  type StateChange,
  type WebSocketConstructor,
} from '../../src/index.js';
import { applyOp } from '../../src/ops.js';

if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined') {
  Object.defineProperty(globalThis, 'WebSocket', {
    value: NodeWebSocket,
    configurable: true,
    writable: true,
  });
}

export const URL = 'ws://localhost/parley';
export const link = ws.link(URL);
export const server = setupServer();

/** The WebSocket class msw patched (read it after `server.listen()`). */
export function mockedWebSocket(): WebSocketConstructor {
  return (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket;
}

export interface MockConn {
  index: number;
  protocols: string | string[] | undefined;
  frames: ClientFrame[];
  send(frame: ServerFrame): void;
  close(code: number, reason?: string): void;
  closed: boolean;
}

export interface MockConversation {
  epoch: string;
  messages: Message[];
  readSeq?: number;
  /** Sent in the `summary`. */
  meta?: ConversationMeta;
}

export interface MockHubOptions {
  userId?: string;
  conversations?: Record<string, MockConversation>;
  /** Return a close code to refuse the hello. */
  authenticate?: (token: string | undefined, conn: MockConn) => number | undefined;
  /** Answer pings (default true). */
  pong?: boolean;
  /** Return true when the frame was handled (skips the default behaviour). */
  onFrame?: (frame: ClientFrame, conn: MockConn, hub: MockHub) => boolean | undefined;
  onConnection?: (conn: MockConn) => void;
  /** Merged into `welcome.limits`. @default { maxFrameBytes: 65_536, maxTextLength: 10_000 } */
  limits?: Partial<WelcomeFrame['limits']>;
  /** Send `synced` after the hello's replays. @default true */
  synced?: boolean;
  /** The conversations a welcome lists. @default every conversation of the mock */
  member?: (conversationId: string, conn: MockConn) => boolean;
}

export interface MockHub {
  conns: MockConn[];
  conversations: Record<string, MockConversation>;
  /** Stores and returns a message like the hub would. */
  store(conversationId: string, text: string, extra?: Partial<Message>): Message;
  /** Every frame every connection received, flattened. */
  frames(type?: ClientFrame['type']): ClientFrame[];
  waitForConn(n: number): Promise<MockConn>;
  waitForFrame(pred: (f: ClientFrame) => boolean): Promise<ClientFrame>;
}

export function mockHub(opts: MockHubOptions = {}): MockHub {
  const userId = opts.userId ?? 'u1';
  const conversations = opts.conversations ?? { c1: { epoch: 'e1', messages: [] } };
  const conns: MockConn[] = [];
  const frameWaiters: Array<{
    pred: (f: ClientFrame) => boolean;
    resolve: (f: ClientFrame) => void;
  }> = [];
  const connWaiters: Array<{ n: number; resolve: (c: MockConn) => void }> = [];
  const byClientMsgId = new Map<string, Message>();

  const hub: MockHub = {
    conns,
    conversations,
    store(conversationId, text, extra = {}) {
      const conv = conversations[conversationId]!;
      const seq = conv.messages.length === 0 ? 1 : conv.messages[conv.messages.length - 1]!.seq + 1;
      const m: Message = {
        id: `m-${conversationId}-${seq}`,
        conversationId,
        seq,
        clientMsgId: `srv-${conversationId}-${seq}`,
        senderId: 'u2',
        kind: 'user',
        text,
        createdAt: 1_700_000_000_000 + seq,
        ...extra,
      };
      conv.messages.push(m);
      return m;
    },
    frames: (type) =>
      conns.flatMap((c) => c.frames).filter((f) => type === undefined || f.type === type),
    waitForConn: (n) =>
      new Promise((resolve) => {
        const c = conns[n];
        if (c !== undefined) resolve(c);
        else connWaiters.push({ n, resolve });
      }),
    waitForFrame: (pred) =>
      new Promise((resolve) => {
        const f = conns.flatMap((c) => c.frames).find(pred);
        if (f !== undefined) resolve(f);
        else frameWaiters.push({ pred, resolve });
      }),
  };

  const replayFor = (
    conn: MockConn,
    id: string,
    after: number,
    epoch: string | undefined,
    ref?: string,
  ) => {
    const conv = conversations[id]!;
    const head = conv.messages.at(-1)?.seq ?? 0;
    if (epoch !== undefined && epoch !== conv.epoch) {
      conn.send({
        type: 'reset',
        conversationId: id,
        epoch: conv.epoch,
        seq: head,
        reason: 'epoch_changed',
        ...(ref ? { ref } : {}),
      });
      return;
    }
    conn.send({
      type: 'replay',
      conversationId: id,
      epoch: conv.epoch,
      seq: head,
      messages: conv.messages.filter((m) => m.seq > after),
      ...(ref ? { ref } : {}),
    });
  };

  const handler = link.addEventListener(
    'connection',
    ({ client, info }: WebSocketHandlerConnection) => {
      const conn: MockConn = {
        index: conns.length,
        protocols: info.protocols,
        frames: [],
        closed: false,
        send: (f) => {
          if (!conn.closed) client.send(JSON.stringify(f));
        },
        close: (code, reason) => {
          conn.closed = true;
          client.close(code, reason);
        },
      };
      conns.push(conn);
      client.addEventListener('close', () => {
        conn.closed = true;
      });
      for (const w of connWaiters.filter((x) => x.n === conn.index)) w.resolve(conn);
      opts.onConnection?.(conn);
      client.addEventListener('message', (event) => {
        const frame = JSON.parse(String(event.data)) as ClientFrame;
        conn.frames.push(frame);
        for (const w of [...frameWaiters]) {
          if (w.pred(frame)) {
            frameWaiters.splice(frameWaiters.indexOf(w), 1);
            w.resolve(frame);
          }
        }
        if (opts.onFrame?.(frame, conn, hub)) return;
        switch (frame.type) {
          case 'hello': {
            const code = opts.authenticate?.(frame.token, conn);
            if (code !== undefined) {
              conn.close(code, 'refused');
              return;
            }
            conn.send({
              type: 'welcome',
              protocol: 1,
              sessionId: `s${conn.index}`,
              user: { id: userId },
              conversations: Object.entries(conversations)
                .filter(([id]) => opts.member?.(id, conn) ?? true)
                .map(([id, c]) => ({
                  id,
                  seq: c.messages.at(-1)?.seq ?? 0,
                  epoch: c.epoch,
                  readSeq: c.readSeq ?? 0,
                  unread: c.messages.filter(
                    (m) => m.seq > (c.readSeq ?? 0) && m.senderId !== userId && m.kind === 'user',
                  ).length,
                })),
              presence: [],
              heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
              limits: { maxFrameBytes: 65_536, maxTextLength: 10_000, ...opts.limits },
            });
            const listed = Object.keys(conversations).filter(
              (id) => opts.member?.(id, conn) ?? true,
            );
            conn.send({
              type: 'summary',
              conversations: listed.map((id) => {
                const last = [...conversations[id]!.messages]
                  .reverse()
                  .find((m) => m.kind === 'user' || m.kind === 'system');
                const meta = conversations[id]!.meta;
                return { id, ...(last ? { lastMessage: last } : {}), ...(meta ? { meta } : {}) };
              }),
              more: false,
            });
            // Only conversations with a cursor resume (PROTOCOL.md, Connection lifecycle, 6).
            for (const id of listed) {
              const cur = frame.cursors?.[id];
              if (cur !== undefined) replayFor(conn, id, cur.seq, cur.epoch);
            }
            if (opts.synced !== false) conn.send({ type: 'synced' });
            return;
          }
          case 'ping':
            if (opts.pong !== false)
              conn.send({ type: 'pong', ...(frame.ref ? { ref: frame.ref } : {}) });
            return;
          case 'send': {
            let m = byClientMsgId.get(frame.clientMsgId);
            const duplicate = m !== undefined;
            if (m === undefined) {
              m = hub.store(frame.conversationId, frame.text, {
                senderId: userId,
                clientMsgId: frame.clientMsgId,
                ...(frame.replyTo === undefined ? {} : { replyTo: frame.replyTo }),
              });
              byClientMsgId.set(frame.clientMsgId, m);
            }
            conn.send({
              type: 'ack',
              clientMsgId: frame.clientMsgId,
              message: m,
              duplicate,
              ...(frame.ref ? { ref: frame.ref } : {}),
            });
            return;
          }
          case 'edit':
          case 'delete':
          case 'react': {
            // Stored as an operation with its own seq; the target takes its current state.
            let m = byClientMsgId.get(frame.clientMsgId);
            const duplicate = m !== undefined;
            if (m === undefined) {
              const conv = conversations[frame.conversationId]!;
              const at = conv.messages.findIndex((x) => x.seq === frame.target);
              if (at < 0) {
                conn.send({
                  type: 'error',
                  code: 'not_found',
                  message: 'no such message',
                  conversationId: frame.conversationId,
                  clientMsgId: frame.clientMsgId,
                  ...(frame.ref ? { ref: frame.ref } : {}),
                });
                return;
              }
              m = hub.store(frame.conversationId, frame.type === 'edit' ? frame.text : '', {
                senderId: userId,
                clientMsgId: frame.clientMsgId,
                kind: frame.type === 'react' ? 'reaction' : frame.type,
                target: frame.target,
                ...(frame.type === 'edit' && frame.data !== undefined ? { data: frame.data } : {}),
                ...(frame.type === 'react'
                  ? { reaction: { emoji: frame.emoji, on: frame.on } }
                  : {}),
              });
              const { status: _, ...next } = applyOp(
                { ...conv.messages[at]!, status: 'sent' },
                m,
                m.seq,
              );
              conv.messages[at] = next;
              byClientMsgId.set(frame.clientMsgId, m);
            }
            conn.send({
              type: 'ack',
              clientMsgId: frame.clientMsgId,
              message: m,
              duplicate,
              ...(frame.ref ? { ref: frame.ref } : {}),
            });
            return;
          }
          case 'event':
            if (frame.ref !== undefined) conn.send({ type: 'ok', ref: frame.ref });
            return;
          case 'sync':
            replayFor(conn, frame.conversationId, frame.after, frame.epoch, frame.ref);
            return;
          case 'history': {
            const conv = conversations[frame.conversationId]!;
            const before = frame.before ?? Number.MAX_SAFE_INTEGER;
            const older = conv.messages.filter((m) => m.seq < before);
            const page = older.slice(-(frame.limit ?? 50));
            conn.send({
              type: 'history',
              conversationId: frame.conversationId,
              messages: page,
              hasMore: older.length > page.length,
              ...(frame.ref ? { ref: frame.ref } : {}),
            });
            return;
          }
          default:
            return;
        }
      });
    },
  );
  server.use(handler);
  return hub;
}

/** Resolves with the first emission of `event` matching `pred`, or rejects after `ms` (real time). */
export function nextEvent<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  pred: (value: T) => boolean = () => true,
  ms = 5_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`event not seen within ${ms} ms`));
    }, ms);
    const off = subscribe((v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

/**
 * Re-checks `check` until it passes. Under fake timers it only flushes due (0 ms) timers and
 * microtasks between checks; it never moves the clock (unlike `vi.waitFor`).
 */
/** Resolves once the client is `open` (at once if it already is). */
export const opened = (c: {
  readonly state: string;
  on(event: 'state', listener: (s: StateChange) => void): () => void;
}): Promise<unknown> =>
  c.state === 'open'
    ? Promise.resolve()
    : nextEvent<StateChange>(
        (l) => c.on('state', l),
        (s) => s.to === 'open',
      );

export async function until(check: () => unknown, tries = 500): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if (check() !== false) return;
      if (i >= tries) throw new Error('condition not met');
    } catch (err) {
      if (i >= tries) throw err;
    }
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
    else await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Registers the msw server's lifecycle for a test file and returns a client factory over the
 * mocked socket; every client it made is closed after each test.
 */
export function useMockedClients(
  defaults: Partial<ClientOptions<NoEvents>> = {},
): (opts?: Partial<ClientOptions<NoEvents>>) => ParleyClient {
  const clients: ParleyClient[] = [];
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    server.resetHandlers();
    vi.useRealTimers();
  });
  afterAll(() => server.close());
  return (opts = {}) => {
    const c = createClient({
      url: URL,
      WebSocket: mockedWebSocket(),
      token: 't1',
      ...defaults,
      ...opts,
    });
    clients.push(c);
    return c;
  };
}
