/**
 * Every frame a client sends, before it reaches a handler: decoding (with the frame size limit),
 * the state rules around `hello`, and the per-connection rate limit — which counts malformed
 * frames too, so a flood of garbage is limited and closed like a flood of valid frames.
 */
import {
  type ClientFrame,
  CloseCode,
  decodeClientFrame,
  ErrorCode,
  PROTOCOL_VERSION,
  ProtocolError,
  type RawData,
  rawToText,
} from '@parley/protocol';
import type { Connection } from './connection.js';
import { metric } from './context.js';
import { handleFrame } from './handlers.js';
import { startSession } from './session.js';

/** Handles one inbound WebSocket message. Never throws for anything a client can send. */
export function onInbound(conn: Connection, data: RawData): void {
  if (conn.isClosed()) return;
  const { ctx } = conn;
  ctx.counters.framesIn++;
  let frame: ClientFrame;
  try {
    frame = decodeClientFrame(data, { maxBytes: ctx.config.maxFrameBytes });
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    onInvalid(conn, err, data);
    return;
  }
  if (conn.state === 'hello') {
    // Any frame but hello before hello (a pong included) is 4401, as PROTOCOL.md says.
    if (frame.type !== 'hello') {
      conn.close(CloseCode.Unauthenticated, 'hello required');
      return;
    }
    conn.state = 'starting';
    conn.timers.helloReceived();
    conn.enqueue(() => startSession(conn, frame));
    return;
  }
  if (frame.type === 'pong') {
    // The answer to an app-level heartbeat ping (transports without WebSocket pings).
    conn.timers.onPong();
    return;
  }
  if (frame.type === 'hello') {
    conn.close(CloseCode.BadRequest, 'repeated hello');
    return;
  }
  if (frame.type === 'ping') {
    conn.send({ type: 'pong', ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
    return;
  }
  if (!admit(conn, frame)) return;
  if (frame.type === 'read') conn.enqueueRead(frame, () => handleFrame(conn, frame));
  else conn.enqueue(() => handleFrame(conn, frame));
}

/**
 * The version a `hello` asked for, when it is a number. Read again from the raw frame only for a
 * first frame that failed on its `protocol` field (the schema accepts only ours).
 */
function askedVersion(data: RawData): number | undefined {
  try {
    const v = (JSON.parse(rawToText(data)) as { protocol?: unknown } | null)?.protocol;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A frame that failed to decode. */
function onInvalid(conn: Connection, err: ProtocolError, data: RawData): void {
  if (err.code === ErrorCode.TooLarge && err.field === '') {
    conn.close(CloseCode.MessageTooBig, 'frame too large');
    return;
  }
  if (conn.state === 'hello') {
    // A hello for another version of the protocol (a client that cannot offer subprotocols says
    // its version here): 4406 like an unknown subprotocol, so that it stops instead of retrying
    // a request it thinks is malformed (issue 19). A missing or non-numeric version is 4400.
    if (err.frameType === 'hello' && err.field === 'protocol') {
      const asked = askedVersion(data);
      if (asked !== undefined && asked !== PROTOCOL_VERSION) {
        conn.close(CloseCode.SubprotocolNotAcceptable, 'unsupported protocol version');
        return;
      }
    }
    // A broken first frame: a bad hello (4400), or something else before hello (4401).
    const known = err.frameType !== undefined && err.frameType !== 'hello';
    conn.close(
      known ? CloseCode.Unauthenticated : CloseCode.BadRequest,
      known ? 'hello required' : 'invalid hello',
    );
    return;
  }
  // Answering costs as much as a valid frame: it takes a token like one (issue 13).
  if (!admit(conn, undefined, err.ref)) return;
  conn.sendError({
    code: err.code,
    message: err.message,
    ...(err.field === '' ? {} : { field: err.field }),
    ...(err.ref === undefined ? {} : { ref: err.ref }),
  });
}

/**
 * Takes a rate-limit token for a frame (valid, or `undefined` for a malformed one). Without one
 * the frame is answered `rate_limited` (not processed), and a flood closes the socket with 4429.
 */
function admit(conn: Connection, frame: ClientFrame | undefined, badRef?: string): boolean {
  const rate = conn.limiter.take();
  if (rate.ok) return true;
  const { ctx } = conn;
  ctx.counters.rateLimited++;
  metric(ctx, {
    type: 'rate_limited',
    flood: rate.flood,
    ...(conn.userId === undefined ? {} : { userId: conn.userId }),
  });
  if (rate.flood) {
    conn.close(CloseCode.TooManyRequests, 'too many requests');
    return false;
  }
  const ref = frame !== undefined && 'ref' in frame ? frame.ref : badRef;
  conn.sendError({
    code: ErrorCode.RateLimited,
    message: 'rate limit exceeded',
    retryAfterMs: rate.retryAfterMs,
    ...(ref === undefined ? {} : { ref }),
    ...(frame !== undefined && 'clientMsgId' in frame
      ? { conversationId: frame.conversationId, clientMsgId: frame.clientMsgId }
      : {}),
  });
  return false;
}
