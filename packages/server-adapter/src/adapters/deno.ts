/**
 * The Deno adapter: the hub in a `Deno.serve` handler through `Deno.upgradeWebSocket`.
 *
 * ```ts
 * const parley = parleyDeno(hub, { path: '/parley' });
 * Deno.serve((req, info) => parley.fetch(req, info) ?? app(req));
 * ```
 *
 * Deno's server WebSocket is the web `WebSocket`: `bufferedAmount` gives the hub its
 * backpressure signal; it has no `ping()`, so the hub's heartbeat uses app-level `ping` frames
 * (every Parley client answers them) and Deno's own idle timeout is switched off. It has no
 * abrupt close either: the hub's `terminate` closes with 1001 and stops waiting for the peer.
 * Frames over `limits.maxFrameBytes` are refused by the hub with 1009 once Deno has read them
 * (Deno has no size option of its own; it caps messages at 64 MiB).
 *
 * The types below are structural (what the adapter uses of Deno's APIs), so the package needs no
 * Deno type definitions.
 */
import type { EventSchemas, RawData } from '@parley/protocol';
import type { Hub } from '../hub/hub.js';
import { closeOnError } from './shared/close.js';
import { acceptUpgrade, isPath, refusalResponse } from './shared/fetch.js';

/** What the adapter uses of the server-side WebSocket `Deno.upgradeWebSocket` returns. */
export interface DenoWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: 'close',
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(
    type: 'error',
    listener: (event: { error?: unknown; message?: string }) => void,
  ): void;
}

/** `Deno.upgradeWebSocket`. */
export type DenoUpgradeWebSocket = (
  request: Request,
  options: { protocol?: string; idleTimeout?: number },
) => { socket: DenoWebSocket; response: Response };

/** The second argument of a `Deno.serve` handler (`Deno.ServeHandlerInfo`). */
export interface DenoServeInfo {
  readonly remoteAddr: { readonly hostname?: string };
}

/** Options of {@link parleyDeno}. */
export interface ParleyDenoOptions {
  /** URL path that carries the hub (exact match; query strings are ignored). @default '/parley' */
  path?: string;
  /** The upgrade function. @default Deno.upgradeWebSocket */
  upgradeWebSocket?: DenoUpgradeWebSocket;
}

/** Returned by {@link parleyDeno}. */
export interface ParleyDeno {
  /**
   * For a `Deno.serve` handler: `undefined` when the request is not for the hub's path (answer
   * it yourself); otherwise the answer — the upgrade response, or a refusal (403 origin, 503
   * closing, 426 not an upgrade). Pass the handler's `info` so `request.remoteAddress` is set.
   */
  fetch(request: Request, info?: DenoServeInfo): Response | undefined;
}

const OPEN = 1;

/** Creates the Deno glue for `hub`. `hub.close()` closes its sockets; the server stays yours. */
export function parleyDeno<E extends EventSchemas>(
  hub: Hub<E>,
  options: ParleyDenoOptions = {},
): ParleyDeno {
  const path = options.path ?? '/parley';
  const upgrade =
    options.upgradeWebSocket ??
    (globalThis as { Deno?: { upgradeWebSocket: DenoUpgradeWebSocket } }).Deno?.upgradeWebSocket;
  if (upgrade === undefined) {
    throw new TypeError('parleyDeno: Deno.upgradeWebSocket is missing (not running on Deno?)');
  }

  const fetch = (request: Request, info?: DenoServeInfo): Response | undefined => {
    if (!isPath(request, path)) return undefined;
    // Read now: Deno refuses `remoteAddr` once the request has been answered.
    const accepted = acceptUpgrade(hub, request, info?.remoteAddr.hostname);
    if (accepted instanceof Response) return accepted;
    let upgraded: ReturnType<DenoUpgradeWebSocket>;
    try {
      upgraded = upgrade(request, {
        ...(accepted.protocol === undefined ? {} : { protocol: accepted.protocol }),
        idleTimeout: 0,
      });
    } catch {
      // Deno refuses a malformed handshake (no Sec-WebSocket-Key, a bad version) by throwing.
      return refusalResponse({ status: 400, reason: 'not a WebSocket upgrade' });
    }
    const { socket, response } = upgraded;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      const handlers = hub.open(
        {
          send: (frame) => socket.send(frame),
          bufferedAmount: () => socket.bufferedAmount,
          close: (code, reason) => socket.close(code, reason),
          terminate: () => {
            if (socket.readyState === OPEN) socket.close(1001, 'terminated');
          },
        },
        accepted.info,
      );
      socket.addEventListener('message', (event) => handlers.onMessage(event.data as RawData));
      socket.addEventListener('error', (event) => {
        if (socket.readyState === OPEN) closeOnError(socket, event.error ?? event.message);
      });
      socket.addEventListener('close', (event) => handlers.onClose(event.code, event.reason));
    });
    return response;
  };
  return { fetch };
}
