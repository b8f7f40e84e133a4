/**
 * Error codes carried by `error` frames. Each is a stable string an app can switch on.
 * The connection stays open after an `error` frame.
 */
export const ErrorCode = {
  /** The frame is not valid JSON or does not match its schema; `field` names the culprit. */
  InvalidFrame: 'invalid_frame',
  /** The frame's `type` is not one the server knows. */
  UnknownType: 'unknown_type',
  /** The frame, text or payload exceeds a size limit. */
  TooLarge: 'too_large',
  /** The user may not do this (not a member of the conversation, not a contact, ...). */
  Forbidden: 'forbidden',
  /** The conversation, user or custom event does not exist. */
  NotFound: 'not_found',
  /** A rate limit was hit; `retryAfterMs` says when to try again. */
  RateLimited: 'rate_limited',
  /** The app's persistence hook rejected the message; `message` carries the app's reason. */
  Rejected: 'rejected',
  /** The session is not (or no longer) authenticated; used for a failed in-band `auth`. */
  Unauthenticated: 'unauthenticated',
  /** A transient server-side failure (store or app hook unavailable); retrying is safe. */
  Unavailable: 'unavailable',
  /** An unexpected server error; details are in the server's log, never on the wire. */
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
// Pure: a browser bundle that never reads the list drops it (and `ErrorCode` with it).
export const ERROR_CODES = /* @__PURE__ */ Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

/**
 * WebSocket close codes. 4xxx codes mirror HTTP statuses; 1xxx are the standard ones Parley uses.
 * What a client must do on each is decided by {@link closeAction}.
 */
export const CloseCode = {
  /** Closed on purpose by the side that closes; a server never uses it to stop a client. */
  Normal: 1000,
  /** The server is going away (a process stopping without a restart hint). Reconnect. */
  GoingAway: 1001,
  /** Abnormal closure (no close frame). Never sent; reported locally. Reconnect. */
  Abnormal: 1006,
  /** Rejected by policy, e.g. an Origin not on the allow-list. Do not retry. */
  PolicyViolation: 1008,
  /** A frame exceeded the server's maximum size. Reconnect (the client must not resend it). */
  MessageTooBig: 1009,
  /** Unexpected server condition. Reconnect with backoff. */
  InternalError: 1011,
  /** Graceful shutdown/restart; a `shutdown` frame with a jittered hint precedes it. Reconnect. */
  ServiceRestart: 1012,
  /**
   * Try again later: the socket passed its byte budget (backpressure: it fell too far behind), or
   * the session could not start in time (a slow `authenticate`/`conversationsOf`). Reconnect with
   * backoff and resume from the cursors.
   */
  TryAgainLater: 1013,
  /** The client broke the protocol (invalid `hello`, repeated hello). Do not retry. */
  BadRequest: 4400,
  /** No, bad or expired credentials, or a frame before `hello`. Refresh the token, then retry. */
  Unauthenticated: 4401,
  /** Authenticated but not allowed to connect (banned, kicked). Do not retry. */
  Forbidden: 4403,
  /** The client's protocol version is not supported. Do not retry. */
  SubprotocolNotAcceptable: 4406,
  /** No `hello` within the server's timeout. Reconnect. */
  HelloTimeout: 4408,
  /**
   * The user already holds the most sockets the server allows per user. Reconnect with a long
   * backoff: it succeeds once another of the user's sockets (a tab, a device) has closed.
   */
  TooManyConnections: 4409,
  /** The client flooded the server past its abuse threshold. Reconnect with a long backoff. */
  TooManyRequests: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * What a client does after a close:
 * - `retry`: reconnect with the normal backoff (or the server's hint);
 * - `refresh`: obtain a fresh token from the token provider, then reconnect;
 * - `backoff`: reconnect, but start from a longer delay (the server is overloaded or we were abusive);
 * - `stop`: do not reconnect; the app must intervene.
 */
export type CloseAction = 'retry' | 'refresh' | 'backoff' | 'stop';

/**
 * The single retry decision for a close code received from a server. Unknown codes retry: a newer
 * server may invent codes, and giving up on an unknown code would strand clients.
 */
export function closeAction(code: number): CloseAction {
  // Literal codes (type-checked against `CloseCode`): a browser bundle that imports only this
  // function does not carry the `CloseCode` object.
  switch (code) {
    case 4401 satisfies typeof CloseCode.Unauthenticated:
      return 'refresh';
    case 4403 satisfies typeof CloseCode.Forbidden:
    case 4400 satisfies typeof CloseCode.BadRequest:
    case 4406 satisfies typeof CloseCode.SubprotocolNotAcceptable:
    case 1008 satisfies typeof CloseCode.PolicyViolation:
      return 'stop';
    case 1013 satisfies typeof CloseCode.TryAgainLater:
    case 4429 satisfies typeof CloseCode.TooManyRequests:
    case 1011 satisfies typeof CloseCode.InternalError:
    // Not `stop`: the cap frees up as soon as another socket of the user closes, and a client that
    // stopped would stay offline until a reload. A long backoff keeps the retries cheap.
    case 4409 satisfies typeof CloseCode.TooManyConnections:
      return 'backoff';
    // Deliberately retried: 1000 (a server never uses it to stop a client), 1001/1012 (a
    // shutdown must never switch auto-reconnect off), 1006 (network), 1009 (the offending frame is
    // rejected locally before it is resent), 4408 (hello timeout: a slow link, not a bad client).
    default:
      return 'retry';
  }
}
