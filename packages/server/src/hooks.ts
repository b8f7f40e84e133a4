/**
 * The hub hooks the standalone server implements with the app's HTTP callbacks: membership (with
 * a short TTL cache), persistence (with an idempotency key), read receipts and offline
 * recipients. Also the custom-event schemas built from the configured names.
 */
import { createHash } from 'node:crypto';
import type { EventSchemas, StandardSchemaV1 } from '@parley/protocol';
import {
  ForbiddenError,
  type HubOptions,
  type Logger,
  type MessageDraft,
  MessageRejectedError,
  type PersistResult,
  UnavailableError,
} from '@parley/server-adapter';
import { AppContractError, AppUnavailableError, type Caller } from './callbacks.js';
import type { ClaimStore } from './claims.js';
import type { ServerConfig } from './config.js';

/** A TTL cache of promises: concurrent lookups share one call; failures are not cached. */
export class TtlCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    if (this.ttlMs > 0) {
      if (this.entries.size >= this.maxEntries) {
        // Oldest first: a Map iterates in insertion order.
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.delete(key);
      this.entries.set(key, { at: this.now(), value });
      value.catch(() => {
        if (this.entries.get(key)?.value === value) this.entries.delete(key);
      });
    }
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Deletes every key starting with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

function expect2xx(name: string, status: number): void {
  if (status < 200 || status >= 300) throw new AppContractError(name, `unexpected HTTP ${status}`);
}

function stringArray(name: string, body: unknown, field: string): string[] {
  const v = (body as Record<string, unknown> | undefined)?.[field];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new AppContractError(name, `answer needs "${field}": an array of strings`);
  return v as string[];
}

/** The membership hooks and the cache invalidation the API calls on join/leave. */
export interface Membership {
  hooks: Pick<HubOptions, 'conversationsOf' | 'isMember' | 'membersOf'>;
  /** Forget cached answers about these users / this conversation (after an API join/leave). */
  invalidate(conversationId: string, userIds: readonly string[]): void;
}

/** Membership from the token's claim, or from the app's callbacks. */
export function createMembership(
  config: ServerConfig,
  claims: ClaimStore,
  caller: Caller,
): Membership {
  const m = config.membership;
  if (m.mode === 'claim') {
    // isMember/membersOf: the hub's defaults (the socket's conversations plus API joins/leaves).
    return {
      hooks: { conversationsOf: async (userId) => (await claims.get(userId)) ?? [] },
      invalidate: () => {},
    };
  }
  const cache = new TtlCache(m.cacheTtlMs);
  const conversationsOf = (userId: string) =>
    cache.get(`c\u0000${userId}`, async () => {
      const res = await caller.call(
        'conversations',
        m.conversationsUrl!,
        { userId },
        { retry: true },
      );
      expect2xx('conversations', res.status);
      return stringArray('conversations', res.body, 'conversationIds');
    });
  const isMemberUrl = m.isMemberUrl;
  const isMember =
    isMemberUrl === undefined
      ? async (userId: string, conversationId: string) =>
          (await conversationsOf(userId)).includes(conversationId)
      : (userId: string, conversationId: string) =>
          cache.get(`m\u0000${userId}\u0000${conversationId}`, async () => {
            const res = await caller.call(
              'isMember',
              isMemberUrl,
              { userId, conversationId },
              { retry: true },
            );
            expect2xx('isMember', res.status);
            const member = (res.body as { member?: unknown } | undefined)?.member;
            if (typeof member !== 'boolean')
              throw new AppContractError('isMember', 'answer needs "member": a boolean');
            return member;
          });
  const membersUrl = m.membersUrl;
  const membersOf =
    membersUrl === undefined
      ? undefined
      : (conversationId: string) =>
          cache.get(`u\u0000${conversationId}`, async () => {
            const res = await caller.call(
              'members',
              membersUrl,
              { conversationId },
              { retry: true },
            );
            if (res.status === 404) return []; // no such conversation: no members
            expect2xx('members', res.status);
            return stringArray('members', res.body, 'userIds');
          });
  return {
    hooks: { conversationsOf, isMember, ...(membersOf === undefined ? {} : { membersOf }) },
    invalidate(conversationId, userIds) {
      cache.delete(`u\u0000${conversationId}`);
      for (const u of userIds) {
        cache.delete(`c\u0000${u}`);
        cache.delete(`m\u0000${u}\u0000${conversationId}`);
      }
    },
  };
}

/**
 * The idempotency key sent with a persistence callback: the SHA-256 (hex) of the JSON array
 * `[senderId, conversationId, clientMsgId]` — the same triple the hub de-duplicates on.
 */
export function idempotencyKey(
  draft: Pick<MessageDraft, 'senderId' | 'conversationId' | 'clientMsgId'>,
): string {
  return createHash('sha256')
    .update(JSON.stringify([draft.senderId, draft.conversationId, draft.clientMsgId]))
    .digest('hex');
}

type StorageHooks = Pick<
  HubOptions,
  'persist' | 'onRead' | 'onOfflineRecipients' | 'onStored' | 'conversationMeta'
>;

/**
 * A persist-style callback (`persist`, `operation`): safe to retry, since the app de-duplicates on
 * the idempotency key (a retry after a lost answer must return the same result, not store twice).
 * 2xx: the app's changes (`id`, `text`, `data`); 401: a contract error (wrong secret); 403 with
 * `forbidden`: `ForbiddenError`; any other 4xx: `MessageRejectedError` with the app's reason. The
 * app down: `unavailable` after a jittered 1–5 s, so clients with pending messages do not all hit
 * a recovering app at once.
 */
export async function callPersistence(
  caller: Caller,
  logger: Logger,
  name: 'persist' | 'operation',
  url: string,
  idempotencyKey: string,
  body: Record<string, unknown>,
  forbidden: boolean,
): Promise<PersistResult | undefined> {
  let res: Awaited<ReturnType<Caller['call']>>;
  try {
    res = await caller.call(
      name,
      url,
      { idempotencyKey, ...body },
      { retry: true, headers: { 'idempotency-key': idempotencyKey } },
    );
  } catch (err) {
    if (err instanceof AppUnavailableError) {
      throw new UnavailableError(err.message, {
        cause: err,
        retryAfterMs: 1_000 + Math.floor(Math.random() * 4_000),
      });
    }
    throw err;
  }
  const answer = res.body as Record<string, unknown> | undefined | null;
  if (res.status >= 200 && res.status < 300) {
    if (answer === undefined || answer === null) return undefined;
    const out: PersistResult = {};
    if (typeof answer.id === 'string' && answer.id !== '') out.id = answer.id;
    if (typeof answer.text === 'string') out.text = answer.text;
    if (answer.data !== undefined) out.data = answer.data as PersistResult['data'];
    return out;
  }
  if (res.status === 401) {
    logger.error({ callback: name }, 'the app refused the callback secret (HTTP 401)');
    throw new AppContractError(name, 'HTTP 401: check callbacks.secret');
  }
  const reason =
    typeof answer?.reason === 'string' && answer.reason !== '' ? answer.reason : undefined;
  if (forbidden && res.status === 403) throw new ForbiddenError(reason ?? 'not allowed by the app');
  throw new MessageRejectedError(reason ?? 'rejected by the app');
}

/**
 * `persist`, `onRead`, `onOfflineRecipients`, `onStored` and `conversationMeta` from the
 * configured callback URLs.
 */
export function createStorageHooks(
  config: ServerConfig,
  caller: Caller,
  logger: Logger,
): StorageHooks {
  const hooks: StorageHooks = {};
  const persistUrl = config.persistence.url;
  if (persistUrl !== undefined) {
    hooks.persist = async (draft) => {
      const key = idempotencyKey(draft);
      return callPersistence(caller, logger, 'persist', persistUrl, key, { message: draft }, false);
    };
  }
  const readsUrl = config.reads.url;
  if (readsUrl !== undefined) {
    hooks.onRead = async (receipt) => {
      // Read positions are monotonic, so a repeated call is harmless: retry.
      const res = await caller.call('read', readsUrl, receipt, { retry: true });
      expect2xx('read', res.status);
    };
  }
  const offlineUrl = config.offline.url;
  if (offlineUrl !== undefined) {
    hooks.onOfflineRecipients = async (input) => {
      const res = await caller.call('offline', offlineUrl, input, { retry: true });
      expect2xx('offline', res.status);
    };
  }
  const storedUrl = config.stored.url;
  if (storedUrl !== undefined) {
    hooks.onStored = async ({ message }) => {
      // The same message again is harmless (the app upserts by id/seq): retry.
      const res = await caller.call('stored', storedUrl, { message }, { retry: true });
      expect2xx('stored', res.status);
    };
  }
  const metaUrl = config.meta.url;
  if (metaUrl !== undefined) {
    hooks.conversationMeta = async (conversationIds, { userId }) => {
      const res = await caller.call('meta', metaUrl, { userId, conversationIds }, { retry: true });
      expect2xx('meta', res.status);
      const all = (res.body as { conversations?: unknown } | undefined)?.conversations;
      if (typeof all !== 'object' || all === null || Array.isArray(all))
        throw new AppContractError('meta', 'answer needs "conversations": an object by id');
      // Each entry is validated by the hub (an invalid one is dropped and logged).
      return all as Record<string, never>;
    };
  }
  return hooks;
}

/** A Standard Schema accepting any payload (the app validates its own events). */
const anyPayload: StandardSchemaV1 = {
  '~standard': { version: 1, vendor: 'parley-server', validate: (value) => ({ value }) },
};

/**
 * Event schemas from configured names; `*` accepts every name (the hub still checks the name's
 * syntax and the payload's JSON depth).
 */
export function eventSchemas(names: readonly string[]): EventSchemas {
  const fixed: EventSchemas = {};
  for (const n of names) if (n !== '*') fixed[n] = anyPayload;
  if (!names.includes('*')) return fixed;
  return new Proxy(fixed, {
    get: (t, p) => (typeof p === 'string' ? anyPayload : Reflect.get(t, p)),
    getOwnPropertyDescriptor: (t, p) =>
      typeof p === 'string'
        ? { value: anyPayload, writable: false, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(t, p),
    has: () => true,
  });
}
