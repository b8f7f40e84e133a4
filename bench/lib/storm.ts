/**
 * The reconnect storm: every client connected and sending, the server restarted (SIGTERM, each
 * system's graceful shutdown; a new process on the same port), then how long until everyone is
 * back and everything sent in the window has arrived — or was lost.
 */
import {
  type Collected,
  connect,
  serverConfig,
  sleep,
  startBacking,
  type Workload,
} from './harness.js';
import { startLoadgens } from './loadgens.js';
import { type LoadgenHandle, type ServerHandle, startServer } from './procs.js';

export interface StormResult {
  clients: number;
  /** From SIGTERM until the old server process exited (its graceful shutdown). */
  shutdownS: number;
  /** Until the new server process was listening. */
  restartS: number;
  /** From the restart signal until every client had completed its handshake again. */
  reconnectS: number;
  /** Until every delivery of every message sent in the storm window arrived (null: some never). */
  completeS: number | null;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  /** Sends attempted while disconnected and dropped (systems without an outbox). */
  droppedSends: number;
  duplicates: number;
  /** Parley: sends retried after an ack timeout (2 s). */
  ackRetries: number;
  /** Parley: server frames seen by the clients, by type. */
  frames?: Record<string, number>;
}

export async function storm(
  system: string,
  w: Workload,
  o: {
    rate: number;
    timeoutMs: number;
    tailMs: number;
    stallMs: number;
    backoff?: { firstMs: number; baseMs: number; capMs: number };
  },
): Promise<StormResult> {
  // the backing store outlives the server's restart (that is what the Redis engine's storm tests)
  const backing = await startBacking(system);
  const config = serverConfig(w, backing);
  let s: ServerHandle;
  try {
    s = await startServer(system, config);
  } catch (e) {
    await backing?.stop();
    throw e;
  }
  const port = s.port;
  let lg: LoadgenHandle | null = null;
  try {
    lg = await startLoadgens(1);
    const total = w.topology.users * w.devices;
    await connect(lg, system, port, w, true, o.backoff);
    await lg.call({ cmd: 'rate', rate: o.rate });
    await sleep(o.tailMs * 2);
    await lg.call({ cmd: 'window' });
    await sleep(o.tailMs / 2);
    const t0 = performance.now();
    await s.stop('SIGTERM');
    const shutdownS = (performance.now() - t0) / 1000;
    s = await startServer(system, { ...config, port });
    const restartS = (performance.now() - t0) / 1000;
    let reconnectS = Number.NaN;
    let completeS: number | null = null;
    let stopped = false;
    let lastDelivered = -1;
    let lastChange = performance.now();
    while (performance.now() - t0 < o.timeoutMs) {
      const st = await lg.call<{
        ready: number;
        expected: number;
        delivered: number;
        outbox: number;
      }>({ cmd: 'status' });
      const t = performance.now();
      if (Number.isNaN(reconnectS) && st.ready >= total) {
        reconnectS = (t - t0) / 1000;
        // keep sending a little after everyone is back, then close the window
        await sleep(o.tailMs);
        await lg.call({ cmd: 'endWindow' });
        await lg.call({ cmd: 'rate', rate: 0 });
        stopped = true;
        continue;
      }
      if (stopped) {
        if (st.delivered >= st.expected && st.outbox === 0) {
          completeS = (t - t0) / 1000;
          break;
        }
        if (st.delivered !== lastDelivered) {
          lastDelivered = st.delivered;
          lastChange = t;
        } else if (t - lastChange > o.stallMs && st.outbox === 0) break; // nothing more will come
      }
      await sleep(25);
    }
    if (!stopped) {
      await lg.call({ cmd: 'endWindow' });
      await lg.call({ cmd: 'rate', rate: 0 });
    }
    const c = await lg.call<Collected>({ cmd: 'collect', drainMs: 0 });
    if (process.env.BENCH_DEBUG) console.error(system, JSON.stringify({ ...c, hist: undefined }));
    return {
      clients: total,
      shutdownS,
      restartS,
      reconnectS,
      completeS,
      sent: c.sent,
      expected: c.expected,
      delivered: c.delivered,
      lost: c.expected - c.delivered,
      droppedSends: c.dropped,
      duplicates: c.duplicates,
      ackRetries: c.ackRetries ?? 0,
      frames: c.frames,
    };
  } finally {
    await lg?.stop();
    await s.stop('SIGKILL');
    await backing?.stop();
  }
}
