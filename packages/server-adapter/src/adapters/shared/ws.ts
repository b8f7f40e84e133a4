/**
 * What the two `ws`-based adapters (node:http, Fastify) share: the request view of Node's
 * `IncomingMessage`, subprotocol selection for `ws`, the HTTP refusal on a raw upgrade socket,
 * and the wiring of a `ws` WebSocket to the hub. The runtime-neutral parts (request view,
 * subprotocol choice, error-to-close mapping) live in request.ts and close.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { ConnectionHandlers } from '../../hub/connection.js';
import type { Hub } from '../../hub/hub.js';
import type { RequestInfo } from '../../hub/options.js';
import type { HubSocket } from '../../hub/outbound.js';
import { closeOnError, type Refusal, statusText } from './close.js';
import { chooseProtocol, requestInfo } from './request.js';

/** The request view of a Node upgrade request. */
export function nodeRequestInfo(req: IncomingMessage): RequestInfo {
  return requestInfo({
    headers: req.headers,
    url: req.url ?? '/',
    remoteAddress: req.socket.remoteAddress,
  });
}

/** `handleProtocols` for `ws` (see {@link chooseProtocol}). */
export function selectProtocol(protocols: Set<string>): string | false {
  return chooseProtocol(protocols) ?? false;
}

/** Answers a refused upgrade with a plain HTTP response and closes the TCP socket. */
export function rejectUpgrade(socket: Duplex, rejection: Refusal): void {
  // node:http hands over upgrade sockets without an 'error' listener: a peer that resets while
  // the refusal is written would otherwise raise an uncaught exception and kill the process.
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${rejection.status} ${statusText(rejection.status)}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(rejection.reason)}\r\n\r\n${rejection.reason}`,
  );
}

/** `ws.send` options for a text frame given as bytes. */
const TEXT = { binary: false } as const;

/** The hub's view of a `ws` WebSocket: methods on a prototype, not six closures per socket. */
class WsHubSocket implements HubSocket {
  constructor(private readonly ws: WebSocket) {}
  send(data: string): void {
    this.ws.send(data);
  }
  sendBytes(data: Uint8Array): void {
    this.ws.send(data, TEXT);
  }
  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
  ping(): void {
    this.ws.ping();
  }
}

/** Where a `ws` WebSocket keeps its hub handlers, read by the shared listeners below. */
const HANDLERS = Symbol('parley.handlers');
type Bound = WebSocket & { [HANDLERS]: ConnectionHandlers };
const handlersOf = (ws: WebSocket): ConnectionHandlers => (ws as Bound)[HANDLERS];

// One listener function for every socket (`this` is the socket): no closures per connection.
function onWsMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  handlersOf(this).onMessage(isBinary ? (data as Buffer) : (data as Buffer).toString('utf8'));
}
function onWsPong(this: WebSocket): void {
  handlersOf(this).onPong();
}
function onWsError(this: WebSocket, err: Error): void {
  if (this.readyState === this.OPEN) closeOnError(this, err);
}
function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  handlersOf(this).onClose(code, reason.toString());
}

/** Wires a `ws` WebSocket to the hub. */
export function bindWebSocket(hub: Pick<Hub, 'open'>, ws: WebSocket, info: RequestInfo): void {
  (ws as Bound)[HANDLERS] = hub.open(new WsHubSocket(ws), info);
  ws.on('message', onWsMessage);
  ws.on('pong', onWsPong);
  ws.on('error', onWsError);
  ws.once('close', onWsClose);
}
