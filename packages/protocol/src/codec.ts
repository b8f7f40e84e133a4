/**
 * Encode/decode with validation in both directions. Decoding never throws anything but a
 * {@link ProtocolError}, whose `field` names the offending field and whose `ref` (when the frame
 * carried one) lets the server correlate its `error` answer.
 */
import type * as z from 'zod/mini';
import { ErrorCode } from './codes.js';
import { Limits } from './limits.js';
import {
  type ClientFrame,
  clientFrameSchemas,
  type ServerFrame,
  serverFrameSchemas,
} from './schemas.js';

/** Codes a codec failure can carry. */
export type ProtocolErrorCode =
  | typeof ErrorCode.InvalidFrame
  | typeof ErrorCode.UnknownType
  | typeof ErrorCode.TooLarge;

/** A frame that failed to decode or encode. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** `invalid_frame`, `unknown_type` or `too_large`. */
  readonly code: ProtocolErrorCode;
  /** Dotted path of the offending field (`type`, `cursors.c1.seq`, ...); `''` for the whole frame. */
  readonly field: string;
  /** The frame's `ref`, when it had a readable one. */
  readonly ref: string | undefined;
  /** The frame's `type`, when it had a readable one. */
  readonly frameType: string | undefined;

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

/** Raw data as a WebSocket delivers it. */
export type RawData = string | ArrayBuffer | ArrayBufferView | readonly ArrayBufferView[];

export interface DecodeOptions {
  /** Reject frames larger than this many UTF-8 bytes. @default Limits.MAX_FRAME_BYTES */
  maxBytes?: number;
}

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: false });
const encoder = /* @__PURE__ */ new TextEncoder();

function concat(chunks: readonly ArrayBufferView[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  return out;
}

/**
 * The text of a WebSocket message (string, bytes, or ws's fragment list), refusing more than
 * `maxBytes` UTF-8 bytes with a `too_large` {@link ProtocolError}.
 */
export function rawToText(data: RawData, maxBytes: number = Number.POSITIVE_INFINITY): string {
  if (typeof data === 'string') {
    // A UTF-16 unit encodes to at most 3 UTF-8 bytes; only measure exactly when it matters.
    if (
      data.length > maxBytes ||
      (data.length * 3 > maxBytes && encoder.encode(data).byteLength > maxBytes)
    ) {
      throw tooLarge(maxBytes);
    }
    return data;
  }
  let bytes: ArrayBuffer | ArrayBufferView;
  if (Array.isArray(data)) bytes = concat(data as readonly ArrayBufferView[]);
  else bytes = data as ArrayBuffer | ArrayBufferView;
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  return decoder.decode(bytes);
}

function tooLarge(maxBytes: number): ProtocolError {
  return new ProtocolError(ErrorCode.TooLarge, `frame is larger than ${maxBytes} bytes`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Turns the first Zod issue into a readable, field-naming ProtocolError. */
function fromIssues(
  type: string,
  input: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  ref: string | undefined,
): ProtocolError {
  const issue = issues[0]!;
  // Nested union/record issues point deeper; prefer the deepest concrete path.
  const path = issue.path.map(String);
  const field = path.join('.');
  let message: string;
  const where = field === '' ? type : `${type}.${field}`;
  const actual = valueAt(input, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      message =
        actual === undefined
          ? `${where} is required (${issue.expected})`
          : `${where}: expected ${issue.expected}, received ${describe(actual)}`;
      break;
    case 'too_big':
      message =
        issue.message !== 'Invalid input'
          ? `${where}: ${issue.message}`
          : `${where} is too big (max ${String(issue.maximum)})`;
      break;
    case 'too_small':
      message =
        issue.message !== 'Invalid input'
          ? `${where}: ${issue.message}`
          : `${where} is too small (min ${String(issue.minimum)})`;
      break;
    case 'invalid_value':
      message = `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'unrecognized_keys':
      message = `${where}: unknown keys ${issue.keys.join(', ')}`;
      break;
    default:
      message = `${where}: ${issue.message}`;
  }
  const tooBig = issue.code === 'too_big' && (path.at(-1) === 'text' || path.at(-1) === 'token');
  return new ProtocolError(tooBig ? ErrorCode.TooLarge : ErrorCode.InvalidFrame, message, {
    field,
    frameType: type,
    ...(ref === undefined ? {} : { ref }),
  });
}

function decodeWith<F>(
  schemas: Record<string, z.ZodMiniType>,
  data: RawData,
  options: DecodeOptions | undefined,
): F {
  const text = rawToText(data, options?.maxBytes ?? Limits.MAX_FRAME_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.InvalidFrame, 'frame is not valid JSON', { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProtocolError(
      ErrorCode.InvalidFrame,
      `frame must be a JSON object, received ${describe(parsed)}`,
    );
  }
  const obj = parsed as Record<string, unknown>;
  const ref =
    typeof obj.ref === 'string' && obj.ref.length > 0 && obj.ref.length <= Limits.MAX_ID_LENGTH
      ? obj.ref
      : undefined;
  const type = obj.type;
  if (typeof type !== 'string') {
    throw new ProtocolError(
      ErrorCode.InvalidFrame,
      type === undefined ? 'type is required' : `type: expected string, received ${describe(type)}`,
      { field: 'type', ...(ref === undefined ? {} : { ref }) },
    );
  }
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (schema === undefined) {
    throw new ProtocolError(
      ErrorCode.UnknownType,
      `unknown frame type ${JSON.stringify(type.slice(0, 32))}`,
      {
        field: 'type',
        ...(ref === undefined ? {} : { ref }),
      },
    );
  }
  const result = schema.safeParse(obj);
  if (!result.success) throw fromIssues(type, obj, result.error.issues, ref);
  return result.data as F;
}

/** Decodes and validates a frame sent by a client. Throws {@link ProtocolError}. */
export function decodeClientFrame(data: RawData, options?: DecodeOptions): ClientFrame {
  return decodeWith<ClientFrame>(clientFrameSchemas, data, options);
}

/**
 * Decodes and validates a frame sent by a server. Throws {@link ProtocolError}. No size limit by
 * default: `MAX_FRAME_BYTES` bounds what a server accepts, while replays, history pages and
 * welcomes a server sends are often larger (pass `maxBytes` to bound them).
 */
export function decodeServerFrame(data: RawData, options?: DecodeOptions): ServerFrame {
  return decodeWith<ServerFrame>(serverFrameSchemas, data, {
    maxBytes: Number.POSITIVE_INFINITY,
    ...options,
  });
}

export interface EncodeOptions {
  /**
   * Validate against the schema before serialising. Turn off only on hot paths for frames the
   * code built itself from already-validated parts (the hub's fan-out does).
   * @default true
   */
  validate?: boolean;
}

function encodeWith(
  schemas: Record<string, z.ZodMiniType>,
  frame: { type: string },
  options: EncodeOptions | undefined,
): string {
  if (options?.validate !== false) {
    const schema = Object.hasOwn(schemas, frame.type) ? schemas[frame.type] : undefined;
    if (schema === undefined) {
      throw new ProtocolError(
        ErrorCode.UnknownType,
        `unknown frame type ${JSON.stringify(String(frame.type).slice(0, 32))}`,
        {
          field: 'type',
        },
      );
    }
    const result = schema.safeParse(frame);
    if (!result.success) {
      throw fromIssues(
        frame.type,
        frame as Record<string, unknown>,
        result.error.issues,
        undefined,
      );
    }
  }
  return JSON.stringify(frame);
}

/** Validates and serialises a client frame. Throws {@link ProtocolError}. */
export function encodeClientFrame(frame: ClientFrame, options?: EncodeOptions): string {
  return encodeWith(clientFrameSchemas, frame, options);
}

/** Validates and serialises a server frame. Throws {@link ProtocolError}. */
export function encodeServerFrame(frame: ServerFrame, options?: EncodeOptions): string {
  return encodeWith(serverFrameSchemas, frame, options);
}

/** UTF-8 byte length of a string (what a frame costs on the wire). */
export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}
