/**
 * Pub/sub on the engine's dedicated subscriber connection: one Redis `SUBSCRIBE` per topic however
 * many local handlers it has (reference counted, serialised per topic), re-subscribed by ioredis
 * after a reconnect, and a per-conversation gate that keeps message delivery gap-free across
 * connection losses.
 *
 * Redis pub/sub is at-most-once: what is published while the subscriber connection is down (or
 * after Redis dropped it for an overfull output buffer) is lost. The gate tracks the last seq it
 * delivered per conversation topic; when the connection comes back, or a live message skips a
 * seq, it reads the missed messages from the history (the source of truth) and delivers them in
 * order before the newer live ones. Messages carry their history's epoch, so a flushed Redis
 * (seqs restarting at 1 under a new epoch) is told apart from a duplicate.
 *
 * On Redis Cluster the same, with sharded pub/sub: `SSUBSCRIBE` per channel (each on its own
 * slot) through ioredis' sharded subscriber group, `smessage` events, and `resync` after ioredis
 * rebuilt its subscribers for a new slot map (a failover).
 */

import type { Message } from '@parley/protocol';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import type { Envelope, RangeResult, Topic, Unsubscribe } from '../types.js';

type Handler = (envelope: Envelope) => void;

/** Conversations re-read at once after a reconnect. */
const RESYNC_CONCURRENCY = 32;

/** How long `subscribe` waits for a (re)connecting subscriber before it rejects. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

/** A message envelope as the append script publishes it: with the epoch of its history. */
type WireMessage = Extract<Envelope, { kind: 'message' }> & { epoch: string };

interface ConversationGate {
  conversationId: string;
  /** Epoch and seq of the last message delivered; undefined until the first one. */
  epoch: string | undefined;
  seq: number;
  /** True while missed messages are being read; live ones wait in `held`. */
  filling: boolean;
  held: WireMessage[];
}

interface TopicState {
  channel: string;
  handlers: Set<Handler>;
  /** Whether Redis has (or is about to have) the channel subscribed. */
  active: boolean;
  /** Serialises SUBSCRIBE/UNSUBSCRIBE of this channel. */
  chain: Promise<void>;
  pending: number;
  gate: ConversationGate | undefined;
}

export interface PubSubOptions {
  subscriber: Redis | Cluster;
  /** Sharded pub/sub (Redis Cluster): SSUBSCRIBE / SUNSUBSCRIBE and `smessage`. */
  sharded: boolean;
  /** The channel of a topic. */
  channelOf: (topic: Topic) => string;
  logger: Logger;
  /** Reads missed messages (the engine's `range`, plus each message's stored `origin`). */
  range: (
    conversationId: string,
    after: number,
    limit: number,
  ) => Promise<RangeResult & { origins: (string | undefined)[] }>;
  maxGapFill: number;
  /** The conversation's head (the engine's `heads`): where a new subscription's gate starts. */
  head: (conversationId: string) => Promise<{ epoch: string; seq: number }>;
}

const isWireMessage = (e: Envelope): e is WireMessage =>
  e.kind === 'message' && typeof (e as { epoch?: unknown }).epoch === 'string';

/**
 * The message's JSON inside a published message envelope (`{"kind":"message",…,"message":{…}}`,
 * built by the append and operation scripts with `message` last), or undefined for any other
 * shape. The first `"message":` is the key: inside a JSON string every `"` is escaped, so the
 * closing quote of that text cannot occur there, and the envelope's keys before it are plain.
 */
export function messageJson(raw: string): string | undefined {
  const at = raw.indexOf('"message":');
  if (at < 0 || !raw.startsWith('{"kind":"message",') || !raw.endsWith('}}')) return undefined;
  return raw.slice(at + 10, -1);
}

/** The subscriber side of the engine. */
export class PubSub {
  private readonly topics = new Map<string, TopicState>();
  private readonly opts: PubSubOptions;
  private closed = false;
  private readyWait: Promise<void> | undefined;

  constructor(opts: PubSubOptions) {
    this.opts = opts;
    opts.subscriber.on(opts.sharded ? 'smessage' : 'message', (channel: string, raw: string) =>
      this.onMessage(channel, raw),
    );
  }

  /** Subscribes a handler; resolves once Redis confirmed the channel subscription. */
  async subscribe(topic: Topic, handler: Handler): Promise<Unsubscribe> {
    const channel = this.opts.channelOf(topic);
    let st = this.topics.get(channel);
    if (st === undefined) {
      const conversationId = topic.startsWith('conv:') ? topic.slice(5) : undefined;
      st = {
        channel,
        handlers: new Set(),
        active: false,
        chain: Promise.resolve(),
        pending: 0,
        gate:
          conversationId === undefined
            ? undefined
            : { conversationId, epoch: undefined, seq: 0, filling: false, held: [] },
      };
      this.topics.set(channel, st);
    }
    // Wrapped so that the same function subscribed twice is two subscriptions.
    const h: Handler = (e) => handler(e);
    st.handlers.add(h);
    try {
      await this.reconcile(st);
    } catch (err) {
      st.handlers.delete(h);
      void this.reconcile(st).catch(() => {});
      throw err;
    }
    let done = false;
    const state = st;
    return async () => {
      if (done) return;
      done = true;
      state.handlers.delete(h);
      await this.reconcile(state).catch((err: unknown) => {
        this.opts.logger.warn({ err, channel }, 'parley redis engine: unsubscribe failed');
      });
    };
  }

  /** Called when the subscriber connection is ready again after a loss. */
  async resync(): Promise<void> {
    // A reconnected subscriber starts with no subscriptions (ioredis' autoResubscribe is off, see
    // engine.ts): subscribe every active channel again. Once Redis confirms, nothing published
    // from now on can be missed; what was published while away comes back through `fill` below.
    const channels = [...this.topics.values()].filter((st) => st.active).map((st) => st.channel);
    if (this.opts.sharded) {
      // One command per channel: channels of different slots cannot share an SSUBSCRIBE.
      await Promise.all(
        channels.map((ch) =>
          this.opts.subscriber.ssubscribe(ch).catch((err: unknown) => {
            this.opts.logger.warn({ err, channel: ch }, 'parley redis engine: resubscribe failed');
          }),
        ),
      );
    } else if (channels.length > 0) await this.opts.subscriber.subscribe(...channels);
    // One `range` per subscribed conversation, RESYNC_CONCURRENCY at a time.
    const queue = [...this.topics.values()];
    const worker = async (): Promise<void> => {
      for (let st = queue.shift(); st !== undefined && !this.closed; st = queue.shift()) {
        const gate = st.gate;
        if (gate !== undefined && gate.epoch !== undefined && !gate.filling)
          await this.fill(st, gate);
      }
    };
    await Promise.all(Array.from({ length: RESYNC_CONCURRENCY }, worker));
  }

  close(): void {
    this.closed = true;
    this.topics.clear();
  }

  /** Brings Redis' subscription of the channel in line with whether it has handlers. */
  private reconcile(st: TopicState): Promise<void> {
    st.pending++;
    const step = async (): Promise<void> => {
      try {
        const want = st.handlers.size > 0 && !this.closed;
        if (want && !st.active) {
          await this.ready();
          await this.startGate(st.gate);
          if (this.opts.sharded) await this.opts.subscriber.ssubscribe(st.channel);
          else await this.opts.subscriber.subscribe(st.channel);
          st.active = true;
        } else if (!want && st.active) {
          st.active = false;
          if (this.opts.sharded) await this.opts.subscriber.sunsubscribe(st.channel);
          else await this.opts.subscriber.unsubscribe(st.channel);
        }
      } finally {
        st.pending--;
        if (
          st.pending === 0 &&
          st.handlers.size === 0 &&
          !st.active &&
          this.topics.get(st.channel) === st
        ) {
          this.topics.delete(st.channel);
        }
      }
    };
    st.chain = st.chain.then(step, step);
    return st.chain;
  }

  /**
   * Before a conversation's channel is subscribed: its gate starts at the head read now, unless
   * a message already set it. Without that start, a subscription that had delivered nothing when
   * the subscriber was lost had nothing to fill from, and what was published meanwhile never
   * reached it live. Read before SUBSCRIBE, so every message published after the subscription
   * is above it: delivered live, or filled. A few published between the read and the SUBSCRIBE
   * may be filled too; the hub's cursors drop what a socket already has. If the read fails the
   * gate starts at its first message, as before.
   */
  private async startGate(gate: ConversationGate | undefined): Promise<void> {
    if (gate === undefined || gate.epoch !== undefined) return;
    try {
      const head = await this.opts.head(gate.conversationId);
      if (gate.epoch !== undefined) return;
      gate.epoch = head.epoch;
      gate.seq = head.seq;
    } catch (err) {
      this.opts.logger.warn(
        { err, conversationId: gate.conversationId },
        'parley redis engine: could not read the head of a new subscription',
      );
    }
  }

  /**
   * Resolves when the subscriber connection is ready. ioredis writes SUBSCRIBE as soon as the
   * socket is connected, before its INFO ready check; the check then fails in subscriber mode and
   * ioredis drops and re-opens the connection, losing what was published meanwhile. So nothing is
   * subscribed before `ready`.
   */
  private ready(): Promise<void> {
    const conn = this.opts.subscriber;
    if (conn.status === 'ready') return Promise.resolve();
    if (conn.status === 'end' || this.closed)
      return Promise.reject(new Error('parley redis engine: closed'));
    // A lazyConnect connection (inherited by duplicate()) only connects on a command.
    if (conn.status === 'wait') conn.connect().catch(() => {});
    // One wait for every subscription that starts meanwhile (a session start subscribes all of a
    // user's conversations at once): one pair of listeners, not one per channel.
    this.readyWait ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        conn.off('ready', onReady);
        conn.off('end', onEnd);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = (): void => done();
      const onEnd = (): void =>
        done(new Error('parley redis engine: subscriber connection closed'));
      const timer = setTimeout(
        () =>
          done(
            new Error(
              `parley redis engine: subscriber not ready within ${SUBSCRIBE_TIMEOUT_MS} ms`,
            ),
          ),
        SUBSCRIBE_TIMEOUT_MS,
      );
      conn.on('ready', onReady);
      conn.on('end', onEnd);
    }).finally(() => {
      this.readyWait = undefined;
    });
    return this.readyWait;
  }

  private onMessage(channel: string, raw: string): void {
    const st = this.topics.get(channel);
    if (st === undefined || st.handlers.size === 0) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (err) {
      this.opts.logger.warn({ err, channel }, 'parley redis engine: undecodable pub/sub message');
      return;
    }
    if (envelope.kind === 'message') envelope.json = messageJson(raw);
    if (st.gate !== undefined && isWireMessage(envelope)) this.gateMessage(st, st.gate, envelope);
    else this.dispatch(st, envelope);
  }

  private gateMessage(st: TopicState, gate: ConversationGate, env: WireMessage): void {
    if (gate.filling) {
      gate.held.push(env);
      return;
    }
    const seq = env.message.seq;
    if (gate.epoch === undefined) {
      gate.epoch = env.epoch;
      gate.seq = seq;
      this.dispatch(st, env);
    } else if (env.epoch !== gate.epoch) {
      // A new history (flushed Redis): deliver it from its first message.
      gate.held.push(env);
      void this.fill(st, gate);
    } else if (seq === gate.seq + 1) {
      gate.seq = seq;
      this.dispatch(st, env);
    } else if (seq > gate.seq + 1) {
      gate.held.push(env);
      void this.fill(st, gate);
    }
    // seq <= gate.seq: already delivered by a gap fill that overlapped the live stream.
  }

  /** Reads and delivers what the subscription missed, then the messages held meanwhile. */
  private async fill(st: TopicState, gate: ConversationGate): Promise<void> {
    gate.filling = true;
    const { logger, range, maxGapFill } = this.opts;
    try {
      const heldEpoch = gate.held[0]?.epoch;
      let epoch = heldEpoch ?? gate.epoch;
      let after = epoch === gate.epoch ? gate.seq : 0;
      let result = await range(gate.conversationId, after, maxGapFill);
      if (result.head.epoch !== epoch) {
        // The history changed under us: start over on the current one.
        epoch = result.head.epoch;
        after = 0;
        result = await range(gate.conversationId, 0, maxGapFill);
      }
      if (epoch !== gate.epoch) {
        gate.epoch = epoch;
        gate.seq = 0;
      }
      if (result.complete && result.head.epoch === gate.epoch) {
        const from = gate.seq;
        for (const [i, message] of result.messages.entries()) {
          this.deliverFilled(st, gate, message, result.origins[i]);
        }
        if (gate.seq > from) {
          logger.info(
            { conversationId: gate.conversationId, from: from + 1, to: gate.seq },
            'parley redis engine: delivered missed messages from the history',
          );
        }
      } else if (result.head.seq > gate.seq) {
        logger.warn(
          { conversationId: gate.conversationId, after: gate.seq, head: result.head.seq },
          'parley redis engine: missed messages could not be read back; clients will sync',
        );
      }
    } catch (err) {
      logger.warn(
        { err, conversationId: gate.conversationId },
        'parley redis engine: gap fill failed',
      );
    } finally {
      gate.filling = false;
      const held = gate.held;
      gate.held = [];
      for (const env of held) {
        if (this.closed) break;
        if (env.epoch !== gate.epoch) {
          gate.epoch = env.epoch;
          gate.seq = env.message.seq;
          this.dispatch(st, env);
        } else if (env.message.seq > gate.seq) {
          // After a failed fill this may still skip seqs: the clients see the jump and sync.
          gate.seq = env.message.seq;
          this.dispatch(st, env);
        }
      }
    }
  }

  private deliverFilled(
    st: TopicState,
    gate: ConversationGate,
    message: Message,
    origin: string | undefined,
  ): void {
    if (message.seq <= gate.seq || gate.epoch === undefined) return;
    gate.seq = message.seq;
    // The origin is stored with the message, so the sender still gets its `ack`.
    const env: WireMessage =
      origin === undefined
        ? { kind: 'message', message, epoch: gate.epoch }
        : { kind: 'message', message, origin, epoch: gate.epoch };
    this.dispatch(st, env);
  }

  private dispatch(st: TopicState, envelope: Envelope): void {
    if (this.closed) return;
    for (const handler of [...st.handlers]) {
      try {
        handler(envelope);
      } catch (err) {
        this.opts.logger.error(
          { err, channel: st.channel },
          'parley redis engine: subscriber handler threw',
        );
      }
    }
  }
}
