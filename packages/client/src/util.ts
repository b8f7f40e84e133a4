/** Small helpers without dependencies. */

/** Does nothing (detached socket handlers, ignored rejections, the silent logger). */
export const noop = (): void => {};

/** `user` and `system` messages count as unread and show in an inbox; operations do not. */
export const countable = (m: { kind: string }): boolean => m.kind === 'user' || m.kind === 'system';

/** A random RFC 4122 v4 id: `crypto.randomUUID` when available, else `getRandomValues`, else `Math.random`. */
export function uuid(random: () => number = Math.random): string {
  const c = (globalThis as { crypto?: Partial<Pick<Crypto, 'randomUUID' | 'getRandomValues'>> })
    .crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (typeof c?.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
