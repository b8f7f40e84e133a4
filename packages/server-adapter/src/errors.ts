/**
 * Errors an app's hooks may throw to steer the hub, and errors the hub throws at its callers.
 * Every one is an `Error` subclass with a stable `code`.
 */

/** Base class of every error the hub defines. */
export class HubError extends Error {
  override readonly name: string = 'HubError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Throw from `authenticate` to refuse a user who is authenticated but not allowed to connect
 * (banned, kicked). The socket is closed with 4403 and the client stops retrying.
 */
export class ForbiddenError extends HubError {
  override readonly name = 'ForbiddenError';
  constructor(message = 'forbidden', options?: { cause?: unknown }) {
    super('forbidden', message, options);
  }
}

/**
 * Throw from `persist` to reject a message. `message` reaches the sender in a `rejected` error
 * frame, so it must be safe to show (it is truncated to 200 characters).
 */
export class MessageRejectedError extends HubError {
  override readonly name = 'MessageRejectedError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('rejected', reason, options);
  }
}

/**
 * Throw from a hook (`persist`, `onRead`, …) when a dependency is temporarily down. The client gets
 * a retryable `unavailable` error carrying `retryAfterMs`, keeps the message in its outbox, and
 * retries after that delay — so many clients do not all retry a recovering app at once. (Any
 * other error thrown by a hook also answers `unavailable`, without a delay hint.)
 */
export class UnavailableError extends HubError {
  override readonly name = 'UnavailableError';
  /** Suggested delay before the client retries, in ms; add jitter when choosing it. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message = 'temporarily unavailable',
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super('unavailable', message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The hub is closed (or closing) and cannot do what was asked. */
export class HubClosedError extends HubError {
  override readonly name = 'HubClosedError';
  constructor() {
    super('closed', 'the hub is closed');
  }
}

/** A server API call was invalid (unknown event, invalid payload, bad id). */
export class HubUsageError extends HubError {
  override readonly name = 'HubUsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}
