/**
 * Prometheus metrics of the standalone server (prom-client), served on `/metrics`: the hub's
 * totals (`hub.stats()`, read at scrape time), its discrete events (the hub's `metrics` hook:
 * session starts, closes by code, stored messages, replays, resets, hook errors, slow consumers)
 * and the app callbacks (latency histograms per callback and result, calls/retries/failures).
 */
import type { HubStats, MetricEvent } from '@parley/server-adapter';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CallbackStats } from './callbacks.js';

/** How a callback call ended, for the latency histogram. */
export type CallbackResult = 'answered' | 'unavailable' | 'invalid';

/** What the server feeds into its metrics. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** The hub's `metrics` hook. */
  onHubEvent(event: MetricEvent): void;
  /** One callback call (all its attempts) ended after `seconds`. */
  onCallback(callback: string, seconds: number, result: CallbackResult): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsSources {
  /** The hub's totals, read at every scrape. */
  hubStats: () => HubStats;
  /** Per-callback counters, read at every scrape. */
  callbackStats: () => Record<string, CallbackStats>;
  /**
   * Also export Node's process metrics (CPU, memory, event loop lag, GC) with the same prefix.
   * @default true
   */
  processMetrics?: boolean;
  /** @default 'parley_' */
  prefix?: string;
}

/**
 * Close codes that get their own label value; any other code a peer sends is counted as `other`,
 * so that a client cannot create thousands of series.
 */
const KNOWN_CLOSE_CODES = new Set([
  1000, 1001, 1005, 1006, 1008, 1009, 1011, 1012, 1013, 4400, 4401, 4403, 4406, 4408, 4429,
]);

/** Creates a registry with every Parley metric. One per server, so servers in one process never collide. */
export function createMetrics(sources: MetricsSources): ServerMetrics {
  const p = sources.prefix ?? 'parley_';
  const registry = new Registry();
  if (sources.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });

  // Totals kept by the hub: one stats() read per scrape, shared by every metric below.
  let scraped: HubStats | undefined;
  const stats = () => {
    scraped ??= sources.hubStats();
    return scraped;
  };
  const gauge = (name: string, help: string, pick: (s: HubStats) => number) =>
    new Gauge({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(stats()));
      },
    });
  /** A counter that mirrors a monotonic hub total: adds the growth since the last scrape. */
  const mirrored = (name: string, help: string, pick: (s: HubStats) => number) => {
    let last = 0;
    return new Counter({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        const now = pick(stats());
        if (now > last) this.inc(now - last);
        last = Math.max(last, now);
      },
    });
  };
  gauge(
    'connections',
    'Open WebSocket connections, including ones not past hello yet.',
    (s) => s.connections,
  );
  gauge('sessions', 'Connections past welcome.', (s) => s.sessions);
  gauge('users', 'Distinct users with a session on this process.', (s) => s.users);
  gauge(
    'conversations',
    'Conversations with at least one local subscriber.',
    (s) => s.conversations,
  );
  mirrored('frames_in_total', 'Frames received from clients.', (s) => s.framesIn);
  mirrored('frames_out_total', 'Frames sent to clients.', (s) => s.framesOut);
  mirrored(
    'messages_stored_total',
    'Messages stored by this process (not retries).',
    (s) => s.messagesStored,
  );
  mirrored(
    'ephemeral_dropped_total',
    'Typing/presence frames dropped for slow sockets.',
    (s) => s.droppedEphemeral,
  );
  mirrored(
    'rate_limited_total',
    'Frames refused by the per-connection rate limit.',
    (s) => s.rateLimited,
  );
  mirrored(
    'slow_consumer_closes_total',
    'Sockets closed 1013 past the backpressure hard limit.',
    (s) => s.slowConsumerCloses,
  );
  mirrored(
    'heartbeat_timeouts_total',
    'Connections terminated for not answering pings.',
    (s) => s.heartbeatTimeouts,
  );

  const sessionStart = new Histogram({
    name: `${p}session_start_seconds`,
    help: 'From the upgrade to welcome (authentication and membership included).',
    registers: [registry],
  });
  const closes = new Counter({
    name: `${p}connection_closes_total`,
    help: 'Closed connections by close code (codes Parley does not use: "other").',
    labelNames: ['code'],
    registers: [registry],
  });
  const store = new Histogram({
    name: `${p}message_store_seconds`,
    help: 'Storing a message: persistence hook and engine append.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const replays = new Counter({
    name: `${p}replays_total`,
    help: 'Resumes (hello cursors, sync) answered with a complete replay.',
    registers: [registry],
  });
  const replayed = new Counter({
    name: `${p}replayed_messages_total`,
    help: 'Messages sent in replays.',
    registers: [registry],
  });
  const resets = new Counter({
    name: `${p}resets_total`,
    help: 'Resets sent, by reason (trimmed, epoch_changed).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const hookErrors = new Counter({
    name: `${p}hook_errors_total`,
    help: 'Failed app hooks or engine calls (the client got unavailable, or its session closed).',
    labelNames: ['hook'],
    registers: [registry],
  });
  const floods = new Counter({
    name: `${p}flood_closes_total`,
    help: 'Connections closed 4429 for flooding past the rate limit.',
    registers: [registry],
  });

  const callbackSeconds = new Histogram({
    name: `${p}callback_duration_seconds`,
    help: 'App callbacks, every attempt and backoff included; result: answered, unavailable (after the retries) or invalid (a contract error).',
    labelNames: ['callback', 'result'],
    registers: [registry],
  });
  const callbackCounter = (field: keyof CallbackStats, help: string) => {
    const last = new Map<string, number>();
    return new Counter({
      name: `${p}callback_${field}_total`,
      help,
      labelNames: ['callback'],
      registers: [registry],
      collect() {
        for (const [callback, s] of Object.entries(sources.callbackStats())) {
          const before = last.get(callback) ?? 0;
          if (s[field] > before) this.inc({ callback }, s[field] - before);
          last.set(callback, Math.max(before, s[field]));
        }
      },
    });
  };
  callbackCounter('calls', 'Callback calls (a call may take several attempts).');
  callbackCounter(
    'retries',
    'Callback attempts after the first (network error, timeout, 5xx, 408, 429).',
  );
  callbackCounter('failures', 'Callback calls that failed after every attempt.');

  return {
    registry,
    onHubEvent(e) {
      switch (e.type) {
        case 'session.start':
          sessionStart.observe(e.durationMs / 1000);
          return;
        case 'connection.close':
          closes.inc({ code: KNOWN_CLOSE_CODES.has(e.code) ? String(e.code) : 'other' });
          return;
        case 'message.stored':
          store.observe({ kind: e.kind }, e.durationMs / 1000);
          return;
        case 'replay':
          replays.inc();
          replayed.inc(e.messages);
          return;
        case 'reset':
          resets.inc({ reason: e.reason });
          return;
        case 'hook.error':
          hookErrors.inc({ hook: e.hook });
          return;
        case 'rate_limited':
          if (e.flood) floods.inc();
          return;
        default:
          // slow_consumer, heartbeat.timeout: counted from hub.stats() at scrape time.
          return;
      }
    },
    onCallback(callback, seconds, result) {
      callbackSeconds.observe({ callback, result }, seconds);
    },
    async render() {
      scraped = undefined;
      try {
        return { contentType: registry.contentType, body: await registry.metrics() };
      } finally {
        scraped = undefined;
      }
    },
  };
}
