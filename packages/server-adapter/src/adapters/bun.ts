/**
 * The Bun adapter: the hub in `Bun.serve({ fetch, websocket })`. `fetch` upgrades requests for
 * the hub's path (credentials from headers and cookies, the Origin check by `hub.admit`); the
 * `websocket` handlers map `open`/`message`/`close`/`drain`/`pong` to the hub's socket.
 *
 * ```ts
 * const parley = parleyBun(hub, { path: '/parley' });
 * Bun.serve({
 *   fetch: (req, server) => parley.fetch(req, server) ?? app.fetch(req),
 *   websocket: parley.websocket,
 * });
 * ```
 *
 * Backpressure: the hub reads the socket's `getBufferedAmount()`. A frame Bun refuses outright
 * (`send` returns 0: over Bun's `backpressureLimit`, or the connection failed) would be a hole in
 * the stream, so the socket is closed 1013 and the client resumes.
 *
 * The types below are structural (what the adapter uses of Bun's `Server` and
 * `ServerWebSocket`), so the package needs no dependency on Bun's type definitions; Bun's own
 * types are assignable to them.
 */
import type { EventSchemas } from '@parley/protocol';
import type { ConnectionHandlers } from '../hub/connection.js';
import type { Hub } from '../hub/hub.js';
import type { RequestInfo } from '../hub/options.js';
import { acceptUpgrade, isPath, refusalResponse } from './shared/fetch.js';

/** Options of {@link parleyBun}. */
export interface ParleyBunOptions {
  /** URL path that carries the hub (exact match; query strings are ignored). @default '/parley' */
  path?: string;
}

/** What the adapter keeps on each socket (`ws.data`). */
export interface ParleySocketData {
  /** The upgrade request, as `authenticate` sees it. */
  readonly request: RequestInfo;
  /** Set once the hub took the socket (`open`). */
  handlers: ConnectionHandlers | undefined;
}

/** What the adapter uses of Bun's `Server`. */
export interface BunServer {
  upgrade(
    request: Request,
    options: { headers?: Record<string, string>; data: ParleySocketData },
  ): boolean;
  requestIP?(request: Request): { address: string } | null;
}

/** What the adapter uses of Bun's `ServerWebSocket`. */
export interface BunSocket {
  readonly data: ParleySocketData;
  /** -1: queued behind backpressure; 0: dropped; otherwise bytes sent. */
  send(data: string): number;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): unknown;
}

/** The `websocket` option of `Bun.serve`. */
export interface BunWebSocketHandler {
  /** Bun refuses bigger frames with 1009 before they are buffered. */
  readonly maxPayloadLength: number;
  /** 0: no idle timeout of Bun's own; the hub's heartbeat decides when a link is dead. */
  readonly idleTimeout: number;
  /** The hub pings itself (and hears the pongs). */
  readonly sendPings: boolean;
  open(ws: BunSocket): void;
  message(ws: BunSocket, message: string | ArrayBufferView): void;
  close(ws: BunSocket, code: number, reason: string): void;
  drain(ws: BunSocket): void;
  pong(ws: BunSocket): void;
}

/** Returned by {@link parleyBun}. */
export interface ParleyBun {
  /**
   * For `Bun.serve`'s `fetch`: `undefined` when the request is not for the hub's path (answer it
   * yourself); otherwise the answer — a refusal (403 origin, 503 closing, 426 not an upgrade) or
   * the empty response Bun ignores after a successful upgrade.
   */
  fetch(request: Request, server: BunServer): Response | undefined;
  /** For `Bun.serve`'s `websocket`. */
  websocket: BunWebSocketHandler;
}

/** Creates the Bun glue for `hub`. `hub.close()` closes its sockets; the server stays yours. */
export function parleyBun<E extends EventSchemas>(
  hub: Hub<E>,
  options: ParleyBunOptions = {},
): ParleyBun {
  const path = options.path ?? '/parley';

  const fetch = (request: Request, server: BunServer): Response | undefined => {
    if (!isPath(request, path)) return undefined;
    const accepted = acceptUpgrade(hub, request, server.requestIP?.(request)?.address);
    if (accepted instanceof Response) return accepted;
    const data: ParleySocketData = { request: accepted.info, handlers: undefined };
    const upgraded = server.upgrade(request, {
      data,
      ...(accepted.protocol === undefined
        ? {}
        : { headers: { 'Sec-WebSocket-Protocol': accepted.protocol } }),
    });
    if (!upgraded) return refusalResponse({ status: 400, reason: 'not a WebSocket upgrade' });
    return new Response(null); // ignored by Bun after an upgrade
  };

  const websocket: BunWebSocketHandler = {
    maxPayloadLength: hub.maxFrameBytes,
    idleTimeout: 0,
    sendPings: false,
    open(ws) {
      ws.data.handlers = hub.open(
        {
          send: (frame) => {
            if (ws.send(frame) === 0) ws.close(1013, 'send buffer full');
          },
          bufferedAmount: () => ws.getBufferedAmount(),
          close: (code, reason) => ws.close(code, reason),
          terminate: () => ws.terminate(),
          ping: () => {
            ws.ping();
          },
        },
        ws.data.request,
      );
    },
    message(ws, message) {
      ws.data.handlers?.onMessage(message);
    },
    close(ws, code, reason) {
      ws.data.handlers?.onClose(code, reason);
    },
    drain() {
      // The hub reads getBufferedAmount() on every send: nothing is waiting for the drain.
    },
    pong(ws) {
      ws.data.handlers?.onPong();
    },
  };
  return { fetch, websocket };
}
