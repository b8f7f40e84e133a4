/**
 * Every promise the client rejects is rejected with a {@link ParleyError} subclass: it has a
 * stable `code` an app can switch on, a `name`, and the underlying `cause` when there is one.
 */
import type { ErrorCode } from '@parley/protocol/core';

/** Codes the client itself produces (the server's codes are {@link ErrorCode}). */
export type ClientErrorCode =
  | 'client_closed'
  | 'connection_stopped'
  | 'outbox_full'
  | 'disconnected'
  | 'timeout'
  | 'expired';

/** Base class of every error the client rejects with or emits. */
export class ParleyError extends Error {
  override name = 'ParleyError';
  readonly code: ErrorCode | ClientErrorCode;

  constructor(code: ErrorCode | ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * The server (or local validation against the protocol limits) refused a request: `forbidden`,
 * `rejected`, `too_large`, `invalid_frame`, `not_found`, ...
 */
export class ServerError extends ParleyError {
  override name = 'ServerError';
  declare readonly code: ErrorCode;
  /** Dotted path of the offending field, when the server (or the codec) named one. */
  readonly field: string | undefined;
  /** For `rate_limited`: when the request may be retried. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details: {
      field?: string | undefined;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.field = details.field;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * The client was closed (by `client.close()` or because the server told it to stop) before the
 * request could complete. `persisted` is true for an outbox send kept in persistent storage: a
 * later client over the same storage will still deliver it.
 */
export class ClientClosedError extends ParleyError {
  override name = 'ClientClosedError';
  readonly persisted: boolean;

  constructor(
    message: string,
    options: {
      persisted?: boolean;
      cause?: unknown;
      code?: 'client_closed' | 'connection_stopped';
    } = {},
  ) {
    super(options.code ?? 'client_closed', message, { cause: options.cause });
    this.persisted = options.persisted ?? false;
  }
}

/** The outbox already holds `outbox.maxItems` unsent messages. */
export class OutboxFullError extends ParleyError {
  override name = 'OutboxFullError';
  constructor(maxItems: number) {
    super('outbox_full', `the outbox is full (${maxItems} unsent messages)`);
  }
}

/** A request that needs a live connection (history, custom events) was made without one, or the link dropped. */
export class DisconnectedError extends ParleyError {
  override name = 'DisconnectedError';
  constructor(message = 'not connected') {
    super('disconnected', message);
  }
}

/** A request got no answer in time. */
export class TimeoutError extends ParleyError {
  override name = 'TimeoutError';
  constructor(message: string) {
    super('timeout', message);
  }
}

/**
 * A send older than the hub's dedupe window (`welcome.limits.dedupeWindowMs`): retrying it with
 * the same `clientMsgId` could store it twice, so it fails instead. `message.retry()` sends it
 * again under a fresh id — the user's call, since it may have been stored already.
 */
export class ExpiredError extends ParleyError {
  override name = 'ExpiredError';
  constructor(message: string) {
    super('expired', message);
  }
}
