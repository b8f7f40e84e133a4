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

/**
 * The parts of a `ws` WebSocket the pre-framed send reads. Not `ws`'s public API: Socket.IO's
 * broadcasts write pre-built frames through the same `_sender.sendFrame` (engine.io's
 * `wsPreEncodedFrame`, as the `ws` author suggested in websockets/ws#617). Each part is checked
 * before use; anything unexpected takes `ws.send`.
 */
interface WsInternals {
  readonly readyState: number;
  readonly _extensions?: Record<string, unknown>;
  readonly _sender?: {
    readonly _state?: number;
    sendFrame?(list: readonly Uint8Array[], cb?: (err?: Error) => void): void;
  };
}

/**
 * The complete unmasked WebSocket text frame (header + payload) of `data`, in one buffer (RFC
 * 6455 §5.2: FIN + opcode 1, then a 7-bit, 16-bit or 64-bit length).
 */
export function textFrame(data: Uint8Array): Buffer {
  const n = data.byteLength;
  const offset = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(offset + n);
  frame[0] = 0x81;
  if (offset === 2) frame[1] = n;
  else if (offset === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(data, offset);
  return frame;
}

/**
 * The last payload framed and its frame. The hub hands the same bytes to every socket of a
 * fan-out in one synchronous loop (outbound.ts), so this frames a message once per fan-out: each
 * socket then gets one `write` of a ready buffer instead of `ws` building a header and writing
 * header and payload as two chunks (cork, writev) for every socket (issue 15).
 */
let lastPayload: Uint8Array | undefined;
let lastFrame: Buffer = Buffer.alloc(0);

function framed(data: Uint8Array): Buffer {
  if (data !== lastPayload) {
    lastFrame = textFrame(data);
    lastPayload = data;
  }
  return lastFrame;
}

/**
 * True when a pre-built frame can go straight to the socket: open, no permessage-deflate
 * negotiated (a compressed connection frames each message itself), and nothing queued in the
 * sender (`_state` 0: no compression or blob read in progress that a direct write would overtake).
 */
function canWriteFrame(ws: WsInternals): boolean {
  const sender = ws._sender;
  return (
    ws.readyState === 1 &&
    sender !== undefined &&
    sender._state === 0 &&
    typeof sender.sendFrame === 'function' &&
    ws._extensions !== undefined &&
    ws._extensions['permessage-deflate'] === undefined
  );
}

/** The hub's view of a `ws` WebSocket: methods on a prototype, not six closures per socket. */
class WsHubSocket implements HubSocket {
  constructor(private readonly ws: WebSocket) {}
  send(data: string): void {
    this.ws.send(data);
  }
  sendBytes(data: Uint8Array): void {
    const ws = this.ws as unknown as WsInternals;
    if (canWriteFrame(ws)) ws._sender!.sendFrame!([framed(data)]);
    else this.ws.send(data, TEXT);
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
