/**
 * Encode/decode with validation in both directions. Decoding never throws anything but a
 * {@link ProtocolError}, whose `field` names the offending field and whose `ref` (when the frame
 * carried one) lets the server correlate its `error` answer.
 */
import type * as z from 'zod/mini';
import { ErrorCode } from './codes.js';
import { ProtocolError } from './errors.js';
import { fastClientFrame } from './fast-decode.js';
import { Limits } from './limits.js';
import {
  type ClientFrame,
  clientFrameSchemas,
  type ServerFrame,
  serverFrameSchemas,
} from './schemas.js';
import { type RawData, rawToText } from './text.js';

export interface DecodeOptions {
  /** Reject frames larger than this many UTF-8 bytes. @default Limits.MAX_FRAME_BYTES */
  maxBytes?: number;
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
  fast?: (frame: Record<string, unknown>) => F | undefined,
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
  // A certainly valid hot frame skips Zod; anything else (errors included) goes through it.
  const quick = fast?.(obj);
  if (quick !== undefined) return quick;
  const result = schema.safeParse(obj);
  if (!result.success) throw fromIssues(type, obj, result.error.issues, ref);
  return result.data as F;
}

/** Decodes and validates a frame sent by a client. Throws {@link ProtocolError}. */
export function decodeClientFrame(data: RawData, options?: DecodeOptions): ClientFrame {
  return decodeWith<ClientFrame>(clientFrameSchemas, data, options, fastClientFrame);
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
