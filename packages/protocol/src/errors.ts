/** The error every decode/encode failure throws (zod-free: the client bundle imports it). */
import type { ErrorCode } from './codes.js';

/** Codes a codec failure can carry. */
export type ProtocolErrorCode =
  | typeof ErrorCode.InvalidFrame
  | typeof ErrorCode.UnknownType
  | typeof ErrorCode.TooLarge;

/** A frame that failed to decode or encode. */
export class ProtocolError extends Error {
  // `declare`: the constructor sets every field (no `field;` initialisers in the bundle).
  override readonly name = 'ProtocolError';
  /** `invalid_frame`, `unknown_type` or `too_large`. */
  declare readonly code: ProtocolErrorCode;
  /** Dotted path of the offending field (`type`, `cursors.c1.seq`, ...); `''` for the whole frame. */
  declare readonly field: string;
  /** The frame's `ref`, when it had a readable one. */
  declare readonly ref: string | undefined;
  /** The frame's `type`, when it had a readable one. */
  declare readonly frameType: string | undefined;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    details: { field?: string; ref?: string; frameType?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.field = details.field ?? '';
    this.ref = details.ref;
    this.frameType = details.frameType;
  }
}

/** A `too_large` error for a whole frame. */
export function frameTooLarge(maxBytes: number): ProtocolError {
  return new ProtocolError('too_large', `frame is larger than ${maxBytes} bytes`);
}
