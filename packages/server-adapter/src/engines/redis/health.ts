/**
 * Liveness of the engine's Redis links. A link can go silent without closing: a dead route, a
 * failover behind a virtual IP or a proxy that stops forwarding. Nothing then arrives and no
 * error comes, and TCP keepalive would notice only after hours. The subscriber hears nothing,
 * so messages published by other processes stop reaching this one's sockets; commands wait for
 * replies that never come.
 *
 * So every link sends a `PING` every `intervalMs` (`PING` is allowed on a subscribed link). One
 * not answered within `timeoutMs` means the link is dead: its socket is destroyed, which makes
 * ioredis emit `close` and reconnect at once. It then resends the commands left unanswered (the
 * engine's writes are idempotent or atomic scripts), and the subscriber re-subscribes and fills
 * the gap from the history (`PubSub.resync`, on `ready`). A link connected whose handshake goes
 * unanswered as long is dropped too (see `handshaking`); one still connecting or reconnecting is
 * left to ioredis (`connectTimeout`, `retryStrategy`, `maxRetriesPerRequest`).
 */
// Real timers even under an app's fake timers (as the engine's write coalescing): a faked clock
// advanced past `timeoutMs` before a real reply would drop healthy links.
import { clearTimeout, setTimeout } from 'node:timers';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { REDIS_ENGINE_DEFAULTS } from './options.js';

export interface HealthOptions {
  /** How often each link is pinged (ms). */
  intervalMs: number;
  /** How long a `PING` may go unanswered before the link is dropped (ms). */
  timeoutMs: number;
}

/**
 * The links of a Redis Cluster client: each node's command connection, and each shard's
 * subscriber of a `shardedSubscribers` client. ioredis keeps the latter private
 * (`Cluster.shardedSubscribers`, a `ClusterSubscriberGroup`, and its map of `ShardedSubscriber`s;
 * ioredis 5.11): if that shape is missing, only the command connections are checked. A dropped
 * subscriber ends; ioredis refreshes the slot map, starts a new one and re-subscribes it, and
 * the engine fills the gap on `subscribersReady`.
 */
export function clusterLinks(cluster: Cluster, name: string): { conn: Redis; name: string }[] {
  const links = cluster.nodes('all').map((conn) => ({ conn, name }));
  const group = (cluster as unknown as { shardedSubscribers?: { shardedSubscribers?: unknown } })
    .shardedSubscribers?.shardedSubscribers;
  if (!(group instanceof Map)) return links;
  for (const sub of group.values() as Iterable<{ getInstance?: () => Redis | null }>) {
    const conn = typeof sub.getInstance === 'function' ? sub.getInstance() : null;
    if (conn) links.push({ conn, name: 'subscriber' });
  }
  return links;
}

/** How long `close` waits for `QUIT` to be answered before it drops the link. */
export const QUIT_TIMEOUT_MS = 2_000;

/** The health check's settings, checked (a NaN interval would ping in a tight loop). */
export function healthOptions(o: { intervalMs?: number; timeoutMs?: number } = {}): HealthOptions {
  const intervalMs = o.intervalMs ?? REDIS_ENGINE_DEFAULTS.healthIntervalMs;
  const timeoutMs = o.timeoutMs ?? REDIS_ENGINE_DEFAULTS.healthTimeoutMs;
  for (const [name, v] of [
    ['intervalMs', intervalMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!Number.isFinite(v) || v < 10)
      throw new TypeError(`createRedisEngine: health.${name} must be a number of ms >= 10`);
  }
  return { intervalMs, timeoutMs };
}

/** Pings `links()` (re-read on every round) until the returned stop function is called. */
export function watchHealth(
  links: () => readonly { conn: Redis; name: string }[],
  { intervalMs, timeoutMs }: HealthOptions,
  logger: Logger,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A round that throws (ioredis internals not as expected, a PING refused at once) is logged and
  // the next one still comes: never an unhandled rejection, which would end the process.
  const round = async (): Promise<void> => {
    try {
      await Promise.all(links().map(({ conn, name }) => check(conn, name, timeoutMs, logger)));
    } catch (err) {
      logger.warn({ err }, 'parley redis engine: health check failed');
    } finally {
      if (!stopped) schedule();
    }
  };
  const schedule = (): void => {
    timer = setTimeout(() => void round(), intervalMs);
    timer.unref?.();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * When each socket was first seen connected but not ready (ioredis' `connect`: its handshake or
 * ready check unanswered). A frozen Redis still accepts connections (the kernel does) and answers
 * nothing, and ioredis' `connectTimeout` covers only the TCP connect: such a link would wait
 * forever, and the commands queued behind it with it.
 */
const handshaking = new WeakMap<object, number>();

async function check(conn: Redis, name: string, timeoutMs: number, logger: Logger): Promise<void> {
  const socket = (conn as { stream?: object }).stream;
  if (conn.status === 'connect' && socket !== undefined) {
    const since = handshaking.get(socket);
    if (since === undefined) handshaking.set(socket, Date.now());
    else if (Date.now() - since >= timeoutMs) {
      const err = new Error(`no answer to the connection handshake within ${timeoutMs} ms`);
      logger.warn({ err, connection: name }, 'parley redis engine: dropping a silent link');
      destroySocket(conn, err);
    }
    return;
  }
  if (conn.status !== 'ready') return;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<'silent'>((resolve) => {
    deadline = setTimeout(() => resolve('silent'), timeoutMs);
    deadline.unref?.();
  });
  // A rejected PING (the link closed meanwhile) is ioredis' to handle: not a silent link.
  const answered = conn.ping().then(
    () => 'answered' as const,
    () => 'answered' as const,
  );
  const outcome = await Promise.race([answered, silent]);
  clearTimeout(deadline);
  if (outcome === 'answered' || conn.status !== 'ready') return;
  const err = new Error(`no answer to PING within ${timeoutMs} ms: the link went silent`);
  logger.warn({ err, connection: name }, 'parley redis engine: dropping a silent link');
  // `disconnect()` would wait for a FIN the other side never acknowledges; destroying the
  // socket closes it now, and ioredis reconnects as after any drop.
  destroySocket(conn, err);
}

/** Ends a link with `QUIT`, or drops it if `QUIT` is not answered within `ms`. */
export async function closeLink(conn: Redis | Cluster, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (conn.status !== 'ready') return conn.disconnect();
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    if ((await Promise.race([conn.quit(), late])) === 'late') {
      conn.disconnect();
      destroySocket(conn);
    }
  } catch {
    conn.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** ioredis' socket of a single-node link (a Cluster has none of its own). */
function destroySocket(conn: Redis | Cluster, err?: Error): void {
  (conn as { stream?: { destroy(err?: Error): void } }).stream?.destroy(err);
}
