/**
 * The crossws adapter: the hub as crossws hooks, for servers that speak crossws rather than
 * hand out their HTTP server — h3 (`defineWebSocketHandler`), Nitro and Nuxt (a
 * `server/routes/_ws.ts` route), srvx, or any crossws adapter (Node, Bun, Deno, …).
 *
 * ```ts
 * // Nuxt: server/routes/parley.ts (Nitro: routes/parley.ts; h3: app.get('/parley', …))
 * export default defineWebSocketHandler(parleyHooks(hub));
 * ```
 *
 * The route decides the path. The upgrade hook asks the hub (`hub.admit`: origin, closing) and
 * answers a refusal with 403/503 before any WebSocket exists; the other hooks map to the hub's
 * socket. crossws peers have no ping, so the hub's heartbeat uses app-level `ping` frames;
 * backpressure reads `peer.bufferedAmount` (0 where the platform exposes no send buffer, e.g.
 * Cloudflare: there the byte budget only covers what the hub itself holds). `origins` given as a
 * function sees no `remoteAddress` at the upgrade (crossws has none yet); `authenticate` does.
 *
 * The types below are structural (what the adapter uses of crossws's `Peer` and `Message`), so
 * the package needs no dependency on crossws; its hooks type accepts these.
 */
import type { EventSchemas, RawData } from '@parley/protocol';
import type { ConnectionHandlers } from '../hub/connection.js';
import type { Hub } from '../hub/hub.js';
import type { RequestInfo } from '../hub/options.js';
import { closeOnError } from './shared/close.js';
import { acceptUpgrade, fetchRequestInfo } from './shared/fetch.js';

/** What the adapter uses of a crossws `Peer`. */
export interface CrosswsPeer {
  readonly context: Record<string, unknown>;
  readonly request: Request;
  readonly remoteAddress: string | undefined;
  readonly bufferedAmount: number;
  send(data: string): unknown;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** What the adapter uses of a crossws `Message`. */
export interface CrosswsMessage {
  readonly rawData: unknown;
  text(): string;
}

/** The crossws hooks {@link parleyHooks} returns. */
export interface ParleyHooks {
  upgrade(
    request: Request,
  ): Response | { headers: Record<string, string>; context: Record<string, unknown> };
  open(peer: CrosswsPeer): void;
  message(peer: CrosswsPeer, message: CrosswsMessage): void;
  close(peer: CrosswsPeer, details: { code?: number; reason?: string }): void;
  error(peer: CrosswsPeer, error: unknown): void;
}

/** Where the upgrade hook leaves the request view for `open` (in `peer.context`). */
const REQUEST = 'parley.request';

const handlersOf = new WeakMap<CrosswsPeer, ConnectionHandlers>();

function rawData(message: CrosswsMessage): RawData {
  const raw = message.rawData;
  return typeof raw === 'string' || raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)
    ? raw
    : message.text();
}

/** Creates the crossws hooks for `hub`. `hub.close()` closes its sockets. */
export function parleyHooks<E extends EventSchemas>(hub: Hub<E>): ParleyHooks {
  return {
    upgrade(request) {
      const accepted = acceptUpgrade(hub, request, undefined);
      if (accepted instanceof Response) return accepted;
      const headers: Record<string, string> = {};
      if (accepted.protocol !== undefined) headers['sec-websocket-protocol'] = accepted.protocol;
      return { headers, context: { [REQUEST]: accepted.info } };
    },
    open(peer) {
      // Set by `upgrade`; rebuilt from the peer where a platform dropped the context.
      const info =
        (peer.context[REQUEST] as RequestInfo | undefined) ??
        fetchRequestInfo(peer.request, peer.remoteAddress);
      const handlers = hub.open(
        {
          send: (frame) => {
            peer.send(frame);
          },
          bufferedAmount: () => peer.bufferedAmount,
          close: (code, reason) => peer.close(code, reason),
          terminate: () => peer.terminate(),
        },
        { ...info, remoteAddress: peer.remoteAddress },
      );
      handlersOf.set(peer, handlers);
    },
    message(peer, message) {
      handlersOf.get(peer)?.onMessage(rawData(message));
    },
    close(peer, details) {
      handlersOf.get(peer)?.onClose(details.code ?? 1005, details.reason ?? '');
      handlersOf.delete(peer);
    },
    error(peer, error) {
      closeOnError(peer, error);
    },
  };
}
