/**
 * The node:http adapter: attaches a hub to any `http.Server`/`https.Server` (and therefore
 * Express, Koa, Nest and Next custom servers) through its `upgrade` event.
 *
 * ```ts
 * const detach = attachHub(hub, server, { path: '/parley' });
 * ```
 *
 * Every hub attached to one server shares ONE `upgrade` listener that dispatches by path. An
 * upgrade request for any other path is never left unanswered (issue 13: such requests sat in
 * CLOSE_WAIT and the app's own routes stopped answering them):
 * - when the server has other `upgrade` listeners (another WebSocket endpoint), it is theirs;
 * - else a WebSocket upgrade is answered 404 and closed;
 * - else (`Upgrade: h2c` and the like, which a server may ignore) it is handed to the server's
 *   `request` handlers as a plain request, as Node does when nobody listens for upgrades — so the
 *   app's routes keep answering it (a request with a body is answered 400: its body cannot be
 *   read once Node treated it as an upgrade).
 */
import { type Server as HttpServer, type IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { EventSchemas } from '@parley/protocol';
import { WebSocketServer } from 'ws';
import type { Hub } from '../hub/hub.js';
import { bindWebSocket, nodeRequestInfo, rejectUpgrade, selectProtocol } from './shared/ws.js';

/** Options of {@link attachHub}. */
export interface AttachOptions {
  /** URL path that carries the hub (exact match; query strings are ignored). @default '/parley' */
  path?: string;
}

/** Returned by {@link attachHub}. */
export interface AttachedHub {
  /** Stops accepting upgrades on this server and closes the WebSocket server. Idempotent. */
  close(): Promise<void>;
}

type Server = HttpServer | HttpsServer;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The one `upgrade` listener of a server, shared by every hub attached to it. */
class Dispatcher {
  readonly endpoints = new Map<string, UpgradeHandler>();
  readonly listener: UpgradeHandler = (req, socket, head) => this.onUpgrade(req, socket, head);

  constructor(private readonly server: Server) {}

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = (req.url ?? '/').split('?', 1)[0]!;
    const endpoint = this.endpoints.get(pathname);
    if (endpoint !== undefined) {
      endpoint(req, socket, head);
      return;
    }
    if (this.server.listeners('upgrade').some((l) => l !== this.listener)) return; // theirs
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      Number(req.headers['content-length'] ?? 0) > 0;
    if (upgrade === 'websocket' || this.server.listenerCount('request') === 0) {
      rejectUpgrade(socket, { status: 404, reason: 'no WebSocket endpoint at this path' });
    } else if (hasBody) {
      rejectUpgrade(socket, { status: 400, reason: 'upgrade requests may not carry a body' });
    } else {
      asPlainRequest(this.server, req, socket, head);
    }
  }
}

const dispatchers = new WeakMap<Server, Dispatcher>();

/** Hands an upgrade request nobody takes to the server's `request` handlers (one response). */
function asPlainRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
  res.on('finish', () => {
    res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
    socket.end();
  });
  if (head.length > 0) socket.unshift(head);
  server.emit('request', req, res);
}

/** Attaches `hub` to `server` at `options.path`. `hub.close()` detaches it as well. */
export function attachHub<E extends EventSchemas>(
  hub: Hub<E>,
  server: Server,
  options: AttachOptions = {},
): AttachedHub {
  const path = options.path ?? '/parley';
  let dispatcher = dispatchers.get(server);
  if (dispatcher?.endpoints.has(path)) {
    throw new TypeError(`attachHub: a hub is already attached at ${path} on this server`);
  }
  const wss = new WebSocketServer({
    noServer: true,
    // Oversize frames are refused by `ws` with 1009 before they are buffered.
    maxPayload: hub.maxFrameBytes,
    handleProtocols: selectProtocol,
    clientTracking: false,
  });

  const onUpgrade: UpgradeHandler = (req, socket, head) => {
    const info = nodeRequestInfo(req);
    const rejection = hub.admit(info);
    if (rejection !== null) {
      rejectUpgrade(socket, rejection);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => bindWebSocket(hub, ws, info));
  };
  if (dispatcher === undefined) {
    dispatcher = new Dispatcher(server);
    dispatchers.set(server, dispatcher);
    server.on('upgrade', dispatcher.listener);
  }
  dispatcher.endpoints.set(path, onUpgrade);
  const attached = dispatcher;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      if (attached.endpoints.get(path) === onUpgrade) attached.endpoints.delete(path);
      if (attached.endpoints.size === 0) {
        server.off('upgrade', attached.listener);
        if (dispatchers.get(server) === attached) dispatchers.delete(server);
      }
      wss.close(() => resolve());
    });
    return closed;
  };
  hub.onClose(close);
  return { close };
}
