/**
 * The upgrade prologue of every Fetch-API runtime (Bun, Deno, crossws): match the path, build
 * the request view from the `Request`, ask the hub (`admit`: origin, closing), pick the
 * subprotocol — or answer with a plain HTTP refusal. What differs per runtime (how a `Request`
 * becomes a WebSocket) stays in the adapter.
 */
import type { Hub } from '../../hub/hub.js';
import type { RequestInfo } from '../../hub/options.js';
import { type Refusal, statusText } from './close.js';
import { chooseProtocol, requestInfo } from './request.js';

/** An upgrade the hub accepts: the request view to hand to `hub.open`, and the subprotocol. */
export interface AcceptedUpgrade {
  info: RequestInfo;
  /** `Sec-WebSocket-Protocol` to answer with; `undefined` when the client offered none. */
  protocol: string | undefined;
}

/** The request view of a Fetch `Request` (`remoteAddress` comes from the runtime). */
export function fetchRequestInfo(request: Request, remoteAddress: string | undefined): RequestInfo {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return requestInfo({ headers, url: url.pathname + url.search, remoteAddress });
}

/** The plain HTTP answer to a refused upgrade. */
export function refusalResponse(refusal: Refusal): Response {
  return new Response(refusal.reason, {
    status: refusal.status,
    statusText: statusText(refusal.status),
    headers: { 'content-type': 'text/plain', connection: 'close' },
  });
}

/** Whether a request is for `path` (exact; the query is ignored). */
export function isPath(request: Request, path: string): boolean {
  const url = request.url;
  // Cheap check before parsing: the path must appear in the URL at all.
  return url.includes(path) && new URL(url).pathname === path;
}

/**
 * Checks an upgrade request for the hub: a refusal as a `Response` (426 without `Upgrade:
 * websocket`, 403/503 from `hub.admit`), else what the adapter needs to upgrade it.
 */
export function acceptUpgrade(
  hub: Pick<Hub, 'admit'>,
  request: Request,
  remoteAddress: string | undefined,
): AcceptedUpgrade | Response {
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    return refusalResponse({ status: 426, reason: 'upgrade required' });
  }
  const info = fetchRequestInfo(request, remoteAddress);
  const rejection = hub.admit(info);
  if (rejection !== null) return refusalResponse(rejection);
  return { info, protocol: chooseProtocol(info.protocols) };
}
