import { MAX_JSON_DEPTH } from './limits.js';

/** A JSON value, as app-defined `data` and event `payload` carry it. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Depth of a value parsed from JSON, computed iteratively so that a hostile, deeply nested
 * payload cannot overflow the stack. Stops counting once `limit` is exceeded.
 */
export function jsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    if (Array.isArray(v)) for (const item of v) stack.push([item, d + 1]);
    else for (const key in v) stack.push([(v as Record<string, unknown>)[key], d + 1]);
  }
  return max;
}

/** True when `value` is a JSON-compatible tree (no undefined, functions, NaN, class instances). */
export function isJsonValue(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > limit) return false;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, d + 1]);
      continue;
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in v) stack.push([(v as Record<string, unknown>)[key], d + 1]);
      continue;
    }
    return false;
  }
  return true;
}
