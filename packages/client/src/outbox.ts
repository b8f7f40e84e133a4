/**
 * The outbox (tRPC's request manager, for sends): every send is an entry, in send order, until
 * the server stores it. Entries are `queued` (not on the wire), `inflight` (sent, awaiting the
 * ack; re-sent with the SAME clientMsgId after `ackTimeoutMs`) or `waiting` (rate limited). When
 * the link drops, in-flight entries go back to `queued`; on reconnect the queue is flushed in
 * order before anything new. Persisted through an optional {@link OutboxStorage}.
 */
import type { Message, SendFrame } from '@parley/protocol/core';
import { ClientClosedError, OutboxFullError, type ParleyError } from './errors.js';
import type { Logger } from './options.js';
import type { OutboxItem, OutboxStorage } from './outbox-storage.js';
import type { StoredMessage } from './types.js';

interface Waiter {
  resolve(m: StoredMessage): void;
  reject(e: ParleyError): void;
}

interface Entry {
  item: OutboxItem;
  state: 'queued' | 'inflight' | 'waiting';
  waiters: Waiter[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface OutboxDeps {
  /** Sends a frame if the link is ready; false when it is not. */
  send(frame: SendFrame): boolean;
  ackTimeoutMs: number;
  maxItems: number;
  storage: OutboxStorage | undefined;
  logger: Logger;
}

export class Outbox {
  private readonly entries = new Map<string, Entry>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly d: OutboxDeps) {}

  get size(): number {
    return this.entries.size;
  }

  has(clientMsgId: string): boolean {
    return this.entries.has(clientMsgId);
  }

  /** Adds items loaded from storage ahead of everything queued since. */
  restore(items: readonly OutboxItem[]): OutboxItem[] {
    const fresh = items.filter((i) => !this.entries.has(i.clientMsgId));
    const rest = [...this.entries];
    this.entries.clear();
    for (const item of fresh) {
      this.entries.set(item.clientMsgId, { item, state: 'queued', waiters: [], timer: undefined });
    }
    for (const [k, v] of rest) this.entries.set(k, v);
    return fresh;
  }

  /** Queues an item (or attaches to an existing entry with the same id) and sends it when possible. */
  add(item: OutboxItem): Promise<StoredMessage> {
    return new Promise<StoredMessage>((resolve, reject) => {
      const existing = this.entries.get(item.clientMsgId);
      if (existing !== undefined) {
        existing.waiters.push({ resolve, reject });
        return;
      }
      if (this.entries.size >= this.d.maxItems) {
        reject(new OutboxFullError(this.d.maxItems));
        return;
      }
      this.entries.set(item.clientMsgId, {
        item,
        state: 'queued',
        waiters: [{ resolve, reject }],
        timer: undefined,
      });
      this.persist();
      this.flush();
    });
  }

  /** Sends every queued entry, in order. Stops at the first one the link refuses. */
  flush(): void {
    for (const e of this.entries.values()) {
      if (e.state !== 'queued') continue;
      if (!this.transmit(e)) return;
    }
  }

  private transmit(e: Entry): boolean {
    const { clientMsgId, conversationId, text, data } = e.item;
    const frame: SendFrame = { type: 'send', ref: clientMsgId, conversationId, clientMsgId, text };
    if (data !== undefined) frame.data = data;
    let sent: boolean;
    try {
      sent = this.d.send(frame);
    } catch (cause) {
      // Validated before queueing, so this is a persisted item a newer protocol rejects.
      this.d.logger.error({ err: cause, clientMsgId }, 'parley: cannot encode a queued send');
      sent = false;
    }
    if (!sent) {
      e.state = 'queued';
      return false;
    }
    e.state = 'inflight';
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.entries.get(clientMsgId) !== e || e.state !== 'inflight') return;
      this.d.logger.debug({ clientMsgId }, 'parley: ack timeout, re-sending');
      if (!this.transmit(e)) e.state = 'queued';
    }, this.d.ackTimeoutMs);
    return true;
  }

  /** The link dropped: in-flight entries go back to the queue (sent again on reconnect). */
  down(): void {
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
      e.state = 'queued';
    }
  }

  /** Stored (ack, or the message seen in a replay/broadcast): resolves and removes the entry. */
  settle(clientMsgId: string, message: Message): boolean {
    const e = this.entries.get(clientMsgId);
    if (e === undefined) return false;
    this.remove(e);
    const stored: StoredMessage = { ...message, status: 'sent' };
    for (const w of e.waiters) w.resolve(stored);
    return true;
  }

  /** The server refused it for good: rejects and removes the entry. Returns its item. */
  fail(clientMsgId: string, error: ParleyError): OutboxItem | undefined {
    const e = this.entries.get(clientMsgId);
    if (e === undefined) return undefined;
    this.remove(e);
    for (const w of e.waiters) w.reject(error);
    return e.item;
  }

  /** Rate limited or temporarily unavailable: send again after `delayMs`. */
  retryLater(clientMsgId: string, delayMs: number): void {
    const e = this.entries.get(clientMsgId);
    if (e === undefined) return;
    clearTimeout(e.timer);
    e.state = 'waiting';
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.entries.get(clientMsgId) !== e) return;
      e.state = 'queued';
      this.flush();
    }, delayMs);
  }

  /**
   * The client closed: every promise rejects. Persisted items stay in storage so that the next
   * client over the same storage delivers them (the error says so with `persisted: true`).
   */
  close(cause: { code: 'client_closed' | 'connection_stopped'; reason: string }): void {
    const persisted = this.d.storage !== undefined;
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      const err = new ClientClosedError(
        persisted
          ? `client closed (${cause.reason}); the message stays in the persistent outbox`
          : `client closed (${cause.reason}) before the message was stored`,
        { persisted, code: cause.code },
      );
      for (const w of e.waiters) w.reject(err);
    }
    this.entries.clear();
  }

  private remove(e: Entry): void {
    clearTimeout(e.timer);
    this.entries.delete(e.item.clientMsgId);
    this.persist();
  }

  /** Saves are serialised so that an older list never overwrites a newer one. */
  private persist(): void {
    const storage = this.d.storage;
    if (storage === undefined) return;
    const items = [...this.entries.values()].map((e) => e.item);
    this.saving = this.saving
      .then(() => storage.save(items))
      .catch((err: unknown) => this.d.logger.warn({ err }, 'parley: outbox storage save failed'));
  }
}
