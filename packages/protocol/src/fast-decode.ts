/**
 * A hand-written checker for the hot client frames (`send`, `typing`, `read`, `ping`, `pong`),
 * which the hub decodes on every message. It mirrors the Zod schemas in `schemas/client.ts`
 * exactly, and only ever answers "certainly valid" (the value Zod would return: the schema's keys
 * in shape order, unknown keys stripped, `data` passed through by reference) or `undefined`
 * ("invalid, or not sure"): the codec then runs Zod, so every error stays the one Zod produces.
 * `test/fast-decode.test.ts` keeps the two identical over generated and mutated frames.
 *
 * What Zod does here, and the checks below mirror:
 * - a string id: 1–`MAX_ID_LENGTH` code points; message text: at most `MAX_TEXT_LENGTH` code
 *   points (a surrogate pair counts once, a lone surrogate as itself);
 * - `z.int()`: a finite number that is a safe integer; then the `gte` bound;
 * - `z.optional(x)`: absent, or present and valid for `x` (`null` is invalid);
 * - `z.object`: strips unknown keys (including `__proto__`), and reads a key as `input[key]`;
 *   an optional key that is present (`key in input`) but `undefined` stays in its output as
 *   `undefined` — never so after JSON.parse, so such a frame is left to Zod (`absent` below).
 */
import { isJsonValue } from './json.js';
import { Limits } from './limits.js';
import type { ClientFrame, PingFrame, ReadFrame, SendFrame, TypingFrame } from './schemas.js';
import { textLength } from './text.js';

/** At most `max` code points: at most `max` units surely, more than `2 * max` surely not. */
function fitsLength(s: string, max: number): boolean {
  const units = s.length;
  return units <= max || (units <= 2 * max && textLength(s) <= max);
}

function isId(v: unknown): v is string {
  // A non-empty string has at least one code point, so the minimum is a unit count.
  return typeof v === 'string' && v.length > 0 && fitsLength(v, Limits.MAX_ID_LENGTH);
}

function isTargetSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

/** The optional `key` is absent: undefined and not `in` the frame (else: not sure, ask Zod). */
function absent(f: Record<string, unknown>, key: string, v: unknown): boolean {
  return v === undefined && !(key in f);
}

/** An optional id (`ref`) that is absent, or present and valid. */
function optionalId(f: Record<string, unknown>, key: string, v: unknown): v is string | undefined {
  return v === undefined ? !(key in f) : isId(v);
}

function send(f: Record<string, unknown>): SendFrame | undefined {
  const { ref, conversationId, clientMsgId, text, data, replyTo } = f;
  if (!optionalId(f, 'ref', ref)) return undefined;
  if (!isId(conversationId) || !isId(clientMsgId)) return undefined;
  if (typeof text !== 'string' || !fitsLength(text, Limits.MAX_TEXT_LENGTH)) return undefined;
  if (!(absent(f, 'data', data) || isJsonValue(data))) return undefined;
  if (!(absent(f, 'replyTo', replyTo) || isTargetSeq(replyTo))) return undefined;
  // The schema's key order; an absent optional key stays absent.
  const out: SendFrame = { type: 'send' } as SendFrame;
  if (ref !== undefined) out.ref = ref;
  out.conversationId = conversationId;
  out.clientMsgId = clientMsgId;
  out.text = text;
  if (data !== undefined) out.data = data as SendFrame['data'];
  if (replyTo !== undefined) out.replyTo = replyTo as number;
  return out;
}

function typing(f: Record<string, unknown>): TypingFrame | undefined {
  const { conversationId, state } = f;
  if (!isId(conversationId) || (state !== 'start' && state !== 'stop')) return undefined;
  return { type: 'typing', conversationId, state };
}

function read(f: Record<string, unknown>): ReadFrame | undefined {
  const { ref, conversationId, seq } = f;
  if (!optionalId(f, 'ref', ref)) return undefined;
  if (!isId(conversationId) || !isTargetSeq(seq)) return undefined;
  return ref === undefined
    ? { type: 'read', conversationId, seq }
    : { type: 'read', ref, conversationId, seq };
}

function probe<T extends 'ping' | 'pong'>(
  type: T,
  f: Record<string, unknown>,
): (PingFrame & { type: T }) | undefined {
  const { ref } = f;
  if (!optionalId(f, 'ref', ref)) return undefined;
  return (ref === undefined ? { type } : { type, ref }) as PingFrame & { type: T };
}

/**
 * The decoded frame when `frame` (a parsed JSON object) is certainly a valid hot client frame, as
 * the Zod schema would return it; `undefined` for any other type, any invalid frame, or when not
 * sure — the caller then validates with Zod.
 */
export function fastClientFrame(frame: Record<string, unknown>): ClientFrame | undefined {
  switch (frame.type) {
    case 'send':
      return send(frame);
    case 'typing':
      return typing(frame);
    case 'read':
      return read(frame);
    case 'ping':
      return probe('ping', frame);
    case 'pong':
      return probe('pong', frame);
    default:
      return undefined;
  }
}
