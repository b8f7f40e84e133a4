/**
 * Persistent outbox storage: unsent messages survive a page reload, and a new client over the
 * same storage sends them first.
 */
import { isJsonValue, type JsonValue } from '@parley/protocol/core';

/** One unsent message, as persisted. */
export interface OutboxItem {
  clientMsgId: string;
  conversationId: string;
  text: string;
  data?: JsonValue;
  /** When the app called `send` (ms since epoch). */
  createdAt: number;
  /** The seq of the message this one answers. */
  replyTo?: number;
  /** An operation on the stored message `target` instead of a send (`text`: the new text of an edit). */
  op?: 'edit' | 'delete' | 'react';
  target?: number;
  /** `react`: which reaction, added (`on: true`) or removed. */
  emoji?: string;
  on?: boolean;
}

/** Where the outbox persists. Called with the full list, in send order, after every change. */
export interface OutboxStorage {
  load(): OutboxItem[] | Promise<OutboxItem[]>;
  save(items: readonly OutboxItem[]): void | Promise<void>;
}

/** The subset of the Web Storage API used (`localStorage`, `sessionStorage`, a polyfill). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function isItem(v: unknown): v is OutboxItem {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.clientMsgId === 'string' &&
    typeof o.conversationId === 'string' &&
    typeof o.text === 'string' &&
    typeof o.createdAt === 'number' &&
    (o.data === undefined || isJsonValue(o.data))
  );
}

/**
 * An outbox persisted in `localStorage` (or any {@link StorageLike}) under `key`. Two tabs should
 * use different keys (or accept that each flushes what it finds; the server de-duplicates).
 * @param key @default 'parley:outbox'
 * @param storage @default globalThis.localStorage
 */
export function localStorageOutbox(key = 'parley:outbox', storage?: StorageLike): OutboxStorage {
  const get = (): StorageLike | undefined =>
    storage ?? (globalThis as { localStorage?: StorageLike }).localStorage;
  return {
    load() {
      const raw = get()?.getItem(key);
      if (raw == null) return [];
      try {
        const parsed: unknown = JSON.parse(raw);
        return Array.isArray(parsed) ? parsed.filter(isItem) : [];
      } catch {
        return [];
      }
    },
    save(items) {
      const s = get();
      if (s === undefined) return;
      if (items.length === 0) s.removeItem(key);
      else s.setItem(key, JSON.stringify(items));
    },
  };
}

/** An in-memory {@link StorageLike} (Node tests, SSR). */
export function memoryStorage(): StorageLike & { readonly size: number } {
  const map = new Map<string, string>();
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => {
      map.set(k, String(v));
    },
    removeItem: (k) => {
      map.delete(k);
    },
    get size() {
      return map.size;
    },
  };
}
