/**
 * What both `ws`-based adapters share: the request view, subprotocol selection, the HTTP
 * rejection of a refused upgrade, and the wiring of a `ws` WebSocket to the hub (including the
 * one error-to-close mapping).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SUBPROTOCOL } from '@parley/protocol';
import type { WebSocket } from 'ws';
import type { Hub, UpgradeRejection } from '../hub/hub.js';
import type { RequestInfo } from '../hub/options.js';

/** Parses a `Cookie` header. Malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Record<string, string> {
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

/** The transport-neutral view of a Node upgrade request. */
export function requestInfo(req: IncomingMessage): RequestInfo {
  const offered = req.headers['sec-websocket-protocol'];
  const origin = req.headers.origin;
  return {
    headers: req.headers,
    url: req.url ?? '/',
    remoteAddress: req.socket.remoteAddress,
    cookies: parseCookies(req.headers.cookie),
    origin: typeof origin === 'string' ? origin : undefined,
    protocols:
      typeof offered === 'string'
        ? offered
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean)
        : [],
  };
}

/**
 * `handleProtocols` for `ws`: picks `parley.v1`. A client offering only other subprotocols gets
 * the first one echoed so that its handshake completes and it can read the 4406 close the hub
 * sends at once (refusing the handshake would surface as an opaque network error instead).
 */
export function selectProtocol(protocols: Set<string>): string | false {
  if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL;
  const first = protocols.values().next();
  return first.done ? false : first.value;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers a refused upgrade with a plain HTTP response and closes the TCP socket. */
export function rejectUpgrade(
  socket: Duplex,
  rejection: UpgradeRejection | { status: 400 | 404; reason: string },
): void {
  const text = STATUS_TEXT[rejection.status] ?? 'Error';
  // node:http hands over upgrade sockets without an 'error' listener: a peer that resets while
  // the refusal is written would otherwise raise an uncaught exception and kill the process.
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${rejection.status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(rejection.reason)}\r\n\r\n${rejection.reason}`,
  );
}

/** Maps a socket-level error to the close code the peer sees. */
export function closeCodeFor(err: Error & { code?: string }): number {
  // `ws` already closes with 1009 itself for frames over maxPayload; the rest are protocol
  // violations at the WebSocket layer (1002) or unexpected (1011).
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) return 1002;
  return 1011;
}

/** Wires a `ws` WebSocket to the hub. */
export function bindWebSocket(hub: Pick<Hub, 'open'>, ws: WebSocket, info: RequestInfo): void {
  const handlers = hub.open(
    {
      send: (data) => ws.send(data),
      bufferedAmount: () => ws.bufferedAmount,
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
    },
    info,
  );
  ws.on('message', (data, isBinary) => {
    handlers.onMessage(isBinary ? (data as Buffer) : (data as Buffer).toString('utf8'));
  });
  ws.on('pong', () => handlers.onPong());
  ws.on('error', (err) => {
    if (ws.readyState === ws.OPEN) ws.close(closeCodeFor(err), 'error');
  });
  ws.once('close', (code, reason) => handlers.onClose(code, reason.toString()));
}
