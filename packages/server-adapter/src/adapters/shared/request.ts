/**
 * The runtime-neutral view of an upgrade request (`RequestInfo`: what `authenticate` and
 * `origins` see), built the same way by every adapter: from Node's `IncomingMessage` (ws.ts) or
 * from a Fetch `Request` (fetch.ts).
 */
import { SUBPROTOCOL } from '@parley/protocol';
import type { RequestInfo } from '../../hub/options.js';

/** Parses a `Cookie` header. Malformed pairs are skipped. */
export function parseCookies(header: string | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 1) continue;
    const key = part.slice(0, i).trim();
    let value = part.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[key] = decodeURIComponent(value);
    } catch {
      out[key] = value;
    }
  }
  return out;
}

/** The subprotocols offered in a `Sec-WebSocket-Protocol` header, in order. */
export function parseProtocols(header: string | undefined | null): string[] {
  if (typeof header !== 'string') return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The subprotocol to answer with: `parley.v1` when offered. A client offering only other
 * subprotocols gets the first one echoed so that its handshake completes and it can read the
 * 4406 close the hub sends at once (refusing the handshake would surface as an opaque network
 * error instead). `undefined`: the client offered none.
 */
export function chooseProtocol(offered: Iterable<string>): string | undefined {
  let first: string | undefined;
  for (const p of offered) {
    if (p === SUBPROTOCOL) return p;
    first ??= p;
  }
  return first;
}

/** Builds the request view from a header map (lower-case names), the path and query, the peer. */
export function requestInfo(parts: {
  headers: Record<string, string | string[] | undefined>;
  /** Path and query. */
  url: string;
  remoteAddress: string | undefined;
}): RequestInfo {
  const { headers } = parts;
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  return {
    headers,
    url: parts.url,
    remoteAddress: parts.remoteAddress,
    cookies: parseCookies(one('cookie')),
    origin: one('origin'),
    protocols: parseProtocols(one('sec-websocket-protocol')),
  };
}
