/**
 * The node:http adapter: attaches a hub to any `http.Server`/`https.Server` (and therefore
 * Express, Koa, Nest and Next custom servers) through its `upgrade` event. Requests for other
 * paths are left to other upgrade listeners, so the server can host other WebSocket endpoints.
 *
 * ```ts
 * const detach = attachHub(hub, server, { path: '/parley' });
 * ```
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { EventSchemas } from '@parley/protocol';
import { WebSocketServer } from 'ws';
import type { Hub } from '../hub/hub.js';
import { bindWebSocket, rejectUpgrade, requestInfo, selectProtocol } from './shared.js';

/** Options of {@link attachHub}. */
export interface AttachOptions {
  /** URL path that carries the hub (query strings are ignored). @default '/parley' */
  path?: string;
}

/** Returned by {@link attachHub}. */
export interface AttachedHub {
  /** Stops accepting upgrades on this server and closes the WebSocket server. Idempotent. */
  close(): Promise<void>;
}

/** Attaches `hub` to `server` at `options.path`. `hub.close()` detaches it as well. */
export function attachHub<E extends EventSchemas>(
  hub: Hub<E>,
  server: HttpServer | HttpsServer,
  options: AttachOptions = {},
): AttachedHub {
  const path = options.path ?? '/parley';
  const wss = new WebSocketServer({
    noServer: true,
    // Oversize frames are refused by `ws` with 1009 before they are buffered.
    maxPayload: hub.maxFrameBytes,
    handleProtocols: selectProtocol,
    clientTracking: false,
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname !== path) return; // another listener's endpoint
    const info = requestInfo(req);
    const rejection = hub.admit(info);
    if (rejection !== null) {
      rejectUpgrade(socket, rejection);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => bindWebSocket(hub, ws, info));
  };
  server.on('upgrade', onUpgrade);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.off('upgrade', onUpgrade);
      wss.close(() => resolve());
    });
    return closed;
  };
  hub.onClose(close);
  return { close };
}
