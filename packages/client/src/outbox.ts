/**
 * The outbox: every send and every operation (edit, delete, react), in send order, until the hub stores it or it fails for good. Per
 * conversation only the oldest unsettled send is on the wire (head-of-line): a send that waits
 * for a retry (rate limited, `unavailable`) holds back the ones behind it, so a device's own
 * messages are stored in its send order. Heads of different conversations go out side by side,
 * paced by the hub's rate limit (the connection's {@link Pacer}).
 *
 * Every path ends: stored (`settle`), refused (`fail`), out of retries (`maxRetries`), older than
 * the hub's dedupe window (`ExpiredError`), too large for the hub's frame limit (`too_large`, at
 * once — re-checked against every `welcome`), or the client closed. Persisted through an optional
 * {@link OutboxStorage}.
 */
import {
  byteLength,
  type CloseCode,
  type ErrorCode,
  type EventSchemas,
  type Message,
  type WelcomeFrame,
} from '@parley/protocol/core';
import { backoffDelay } from './backoff.js';
import {
  ClientClosedError,
  ExpiredError,
  OutboxFullError,
  type ParleyError,
  ServerError,
  TimeoutError,
} from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { OutboxItem } from './outbox-storage.js';
import type { StoredMessage } from './types.js';

interface Waiter {
  resolve(m: StoredMessage): void;
  reject(e: ParleyError): void;
}

interface Entry {
  item: OutboxItem;
  /** The `send` frame, encoded once. */
  raw: string;
  /** `queued`: may go; `inflight`: on the wire, awaiting the ack; `waiting`: for a retry delay. */
  state: 'queued' | 'inflight' | 'waiting';
  /** Retryable failures so far. */
  tries: number;
  waiters: Waiter[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** What the outbox needs from the client. */
export interface OutboxHost {
  /** Sends an encoded frame on a welcomed link; false when there is none. */
  send(raw: string): boolean;
  /** Milliseconds until the rate limit lets the next frame go (0: now). */
  wait(): number;
  /** The hub answered `rate_limited`: hold every paced frame for `ms`. */
  pause(ms: number): void;
  /** The limits of the latest `welcome` (the protocol defaults before the first). */
  limits(): WelcomeFrame['limits'];
  /** A queued send failed for good. */
  failed(item: OutboxItem, error: ParleyError): void;
}

type Options = Pick<
  ResolvedOptions<EventSchemas>,
  | 'now'
  | 'random'
  | 'reconnect'
  | 'logger'
  | 'ackTimeoutMs'
  | 'outboxMaxItems'
  | 'outboxMaxRetries'
  | 'outboxStorage'
>;

/** Errors after which a send is tried again (same id); every other code fails it. */
const RETRYABLE: ReadonlySet<string> = new Set<ErrorCode>([
  'rate_limited',
  'unavailable',
  'internal',
  'unauthenticated',
]);

/** The `send` (or `edit`, `delete`, `react`) frame of an item. */
function encode({ createdAt: _, op, ...i }: OutboxItem): string {
  return JSON.stringify({ type: op ?? 'send', ref: i.clientMsgId, ...i });
}

export class Outbox {
  /** Every entry by `clientMsgId`, in send order (a Map keeps insertion order). */
  private _entries = new Map<string, Entry>();
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: Options,
    private readonly host: OutboxHost,
  ) {}

  has(clientMsgId: string): boolean {
    return this._entries.has(clientMsgId);
  }

  /**
   * True when the item is older than the hub's dedupe window (with a 10 % margin): a retry with
   * its id could be stored twice.
   */
  expired(item: OutboxItem): boolean {
    const w = this.host.limits().dedupeWindowMs;
    return w !== undefined && this.o.now() - item.createdAt > w * 0.9;
  }

  /** Adds items loaded from storage ahead of everything queued since. */
  restore(items: readonly OutboxItem[]): OutboxItem[] {
    const fresh = items.filter((i) => !this._entries.has(i.clientMsgId));
    this._entries = new Map([
      ...fresh.map((i): [string, Entry] => [i.clientMsgId, this.entry(i)]),
      ...this._entries,
    ]);
    return fresh;
  }

  /**
   * Queues a send (or joins the entry with the same id). Rejects at once when the outbox is full,
   * the frame can never fit, or the item is expired.
   */
  add(item: OutboxItem): Promise<StoredMessage> {
    return new Promise<StoredMessage>((resolve, reject) => {
      const known = this._entries.get(item.clientMsgId);
      if (known !== undefined) {
        known.waiters.push({ resolve, reject });
        return;
      }
      if (this._entries.size >= this.o.outboxMaxItems) {
        reject(new OutboxFullError(this.o.outboxMaxItems));
        return;
      }
      const e = this.entry(item);
      const bad = this.check(e);
      if (bad !== undefined) {
        reject(bad);
        return;
      }
      e.waiters.push({ resolve, reject });
      this._entries.set(item.clientMsgId, e);
      this.persist();
      this.pump();
    });
  }

  /** Puts every conversation's head on the wire that may go now; waits for the rate limit. */
  pump(): void {
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    const busy = new Set<string>();
    for (const e of this._entries.values()) {
      const conv = e.item.conversationId;
      if (busy.has(conv)) continue;
      busy.add(conv);
      if (e.state !== 'queued') continue;
      // Limits can change with every welcome: what can never be sent fails here, in order.
      const bad = this.check(e);
      if (bad !== undefined) {
        this.fail(e, bad);
        busy.delete(conv);
        continue;
      }
      const wait = this.host.wait();
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => this.pump(), wait);
        return;
      }
      if (!this.host.send(e.raw)) return;
      e.state = 'inflight';
      e.timer = setTimeout(() => {
        this.retry(e, new TimeoutError(`no ack within ${this.o.ackTimeoutMs} ms`), 0);
        this.pump();
      }, this.o.ackTimeoutMs);
    }
  }

  /** THE settlement of a send: the hub stored it (ack, or the message seen in the stream). */
  settle(m: Message): boolean {
    const e = this._entries.get(m.clientMsgId);
    if (e === undefined || e.item.conversationId !== m.conversationId) return false;
    this.remove(e);
    const stored: StoredMessage = { ...m, status: 'sent' };
    for (const w of e.waiters) w.resolve(stored);
    this.pump();
    return true;
  }

  /** An `error` frame for a send: retried (after a delay) or failed. False when it is not ours. */
  error(clientMsgId: string, err: ServerError): boolean {
    const e = this._entries.get(clientMsgId);
    if (e === undefined) return false;
    if (e.state !== 'inflight') return true;
    if (!RETRYABLE.has(err.code)) this.fail(e, err);
    else if (err.code === 'rate_limited') {
      this.host.pause(err.retryAfterMs ?? this.o.reconnect.minDelayMs);
      this.retry(e, err, 0);
    } else {
      const delay = err.retryAfterMs ?? backoffDelay(e.tries, this.o.reconnect, this.o.random);
      this.retry(e, err, delay);
    }
    this.pump();
    return true;
  }

  /**
   * The link dropped: in-flight sends go back to the queue (sent again, same id, on the next
   * link). A 1009 close means one of them was too big for the hub after all: each counts a try.
   */
  down(code: number): void {
    for (const e of this._entries.values()) {
      if (e.state !== 'inflight') continue;
      clearTimeout(e.timer);
      e.state = 'queued';
      if (code === (1009 satisfies typeof CloseCode.MessageTooBig))
        this.retry(e, new ServerError('too_large', 'closed 1009: frame too big'), 0);
    }
  }

  /**
   * The client closed: every promise rejects. Persisted items stay in storage so that the next
   * client over the same storage delivers them (the error says so with `persisted: true`).
   */
  close(cause: { code: 'client_closed' | 'connection_stopped'; reason: string }): void {
    clearTimeout(this.pumpTimer);
    const persisted = this.o.outboxStorage !== undefined;
    for (const e of this._entries.values()) {
      clearTimeout(e.timer);
      const err = new ClientClosedError(
        `client closed (${cause.reason})${persisted ? '; kept in the persistent outbox' : ''}`,
        { persisted, code: cause.code },
      );
      for (const w of e.waiters) w.reject(err);
    }
    this._entries.clear();
  }

  private entry(item: OutboxItem): Entry {
    return { item, raw: encode(item), state: 'queued', tries: 0, waiters: [], timer: undefined };
  }

  /** Why an entry can never be sent now, if it cannot. */
  private check(e: Entry): ParleyError | undefined {
    if (this.expired(e.item)) {
      return new ExpiredError('older than the hub’s dedupe window');
    }
    const max = this.host.limits().maxFrameBytes;
    if (byteLength(e.raw) > max) {
      return new ServerError('too_large', `message is larger than ${max} bytes`, {
        field: 'text',
      });
    }
    return undefined;
  }

  /** A retryable failure: queued again (after `delayMs`), unless the retries are used up. */
  private retry(e: Entry, err: ParleyError, delayMs: number): void {
    clearTimeout(e.timer);
    if (++e.tries > this.o.outboxMaxRetries) {
      this.fail(e, err);
      return;
    }
    this.o.logger.debug({ clientMsgId: e.item.clientMsgId, code: err.code }, 'parley: send retry');
    e.state = delayMs > 0 ? 'waiting' : 'queued';
    if (delayMs > 0) {
      e.timer = setTimeout(() => {
        e.state = 'queued';
        this.pump();
      }, delayMs);
    }
  }

  private fail(e: Entry, err: ParleyError): void {
    this.remove(e);
    for (const w of e.waiters) w.reject(err);
    this.host.failed(e.item, err);
  }

  private remove(e: Entry): void {
    clearTimeout(e.timer);
    this._entries.delete(e.item.clientMsgId);
    this.persist();
  }

  /** Saves are serialised so that an older list never overwrites a newer one. */
  private persist(): void {
    const storage = this.o.outboxStorage;
    if (storage === undefined) return;
    const items = [...this._entries.values()].map((e) => e.item);
    this.saving = this.saving
      .then(() => storage.save(items))
      .catch((err: unknown) => this.o.logger.warn({ err }, 'parley: outbox storage save failed'));
  }
}
