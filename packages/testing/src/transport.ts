/**
 * The in-process transport: one msw WebSocket client connection handed to the real hub core as
 * the minimal socket every adapter provides (`send`, `bufferedAmount`, `close`, `terminate`), the
 * same contract `@parley/server-adapter/node` fulfils with `ws`. Inbound messages are fed to the
 * hub's `onMessage`; the close (from either side) to `onClose`.
 */
import type { ClientFrame, ServerFrame } from '@parley/protocol';
import type { ConnectionHandlers, Hub, HubSocket, RequestInfo } from '@parley/server-adapter';
import type { WebSocketHandlerConnection } from 'msw';

/** Close code a client sees when its link drops without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

/** What the kit learns about, and can do to, one mocked connection. */
export interface MockConnection {
  /** 1, 2, … in connection order. */
  readonly id: number;
  /** Known from the `hello` token (kit tokens) or, at the latest, from the `welcome`. */
  userId: string | undefined;
  /** False once closed by either side. */
  readonly open: boolean;
  /** Drops the link as a network failure would (the client sees 1006, the hub a close). */
  drop(reason?: string): void;
}

export interface BindHooks {
  /** Frames in both directions, decoded (undecodable input is passed to the hub and not recorded). */
  frame(conn: MockConnection, direction: 'in' | 'out', frame: ClientFrame | ServerFrame): void;
  /** Resolves a `hello` token to a user id without calling the app's `authenticate`. */
  userOfToken(token: string | undefined): string | undefined;
  /** The user became known; return false to refuse the connection (user "offline"). */
  identified(conn: MockConnection): boolean;
  closed(conn: MockConnection): void;
}

let counter = 0;

function protocolsOf(offered: string | string[] | undefined): string[] {
  if (offered === undefined) return [];
  return (Array.isArray(offered) ? offered : offered.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
}

function parse(
  data: unknown,
): { type?: unknown; token?: unknown; user?: { id?: unknown } } | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null ? (v as ReturnType<typeof parse>) : undefined;
  } catch {
    return undefined;
  }
}

/** Connects one msw client connection to `hub`. */
export function bindMswConnection(
  hub: Pick<Hub, 'admit' | 'open'>,
  { client, info }: Pick<WebSocketHandlerConnection, 'client' | 'info'>,
  hooks: BindHooks,
): MockConnection {
  let open = true;
  const url = client.url;
  const conn: MockConnection = {
    id: ++counter,
    userId: undefined,
    get open() {
      return open;
    },
    drop(reason = 'connection lost') {
      if (open) client.close(ABNORMAL_CLOSURE, reason);
    },
  };
  const request: RequestInfo = {
    headers: { host: url.host },
    url: `${url.pathname}${url.search}`,
    remoteAddress: '127.0.0.1',
    cookies: {},
    origin: undefined,
    protocols: protocolsOf(info.protocols),
  };
  const rejection = hub.admit(request);
  if (rejection !== null) {
    // A refused upgrade is an HTTP answer, which a browser reports as an abnormal closure.
    open = false;
    client.close(ABNORMAL_CLOSURE, rejection.reason);
    return conn;
  }
  const socket: HubSocket = {
    send(data) {
      if (!open) return;
      const frame = parse(data);
      if (frame?.type === 'welcome' && conn.userId === undefined) {
        conn.userId = typeof frame.user?.id === 'string' ? frame.user.id : undefined;
        if (!hooks.identified(conn)) {
          conn.drop('offline');
          return;
        }
      }
      if (frame !== undefined) hooks.frame(conn, 'out', frame as ServerFrame);
      client.send(data);
    },
    // Frames are handed over in memory: nothing is ever buffered.
    bufferedAmount: () => 0,
    close(code, reason) {
      client.close(code, reason);
    },
    terminate() {
      client.close(ABNORMAL_CLOSURE, '');
    },
    // No `ping`: the hub then relies on the client's app-level pings, as for any adapter
    // without WebSocket-level pings.
  };
  const handlers: ConnectionHandlers = hub.open(socket, request);
  client.addEventListener('message', (event) => {
    if (!open) return;
    const data = event.data;
    const frame = parse(data);
    if (frame?.type === 'hello' && conn.userId === undefined) {
      conn.userId = hooks.userOfToken(typeof frame.token === 'string' ? frame.token : undefined);
    }
    if (frame !== undefined) hooks.frame(conn, 'in', frame as ClientFrame);
    if (frame?.type === 'hello' && conn.userId !== undefined && !hooks.identified(conn)) {
      conn.drop('offline');
      return;
    }
    if (typeof data === 'string') handlers.onMessage(data);
    else if (data instanceof ArrayBuffer) handlers.onMessage(data);
    else {
      // A Blob: binary frames are not part of the protocol; let the hub refuse it as usual.
      void (data as Blob).arrayBuffer().then((buf) => open && handlers.onMessage(buf));
    }
  });
  client.addEventListener('close', (event) => {
    if (!open) return;
    open = false;
    handlers.onClose(event.code, event.reason);
    hooks.closed(conn);
  });
  return conn;
}
