/**
 * Shared pieces of the reliability suite: seeds, env-driven sizes, a seeded chaos TCP proxy, a
 * restartable hub on a fixed port, and event-driven waits. The hub and client test helpers of the
 * packages are imported, not copied.
 */
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createHub, type Hub, type HubOptions } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import fc from 'fast-check';
import { prng } from '../../packages/client/test/integration/hub.js';

export { prng };

/** An integer env var, or the default. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
  return Math.floor(n);
}

/** The seed of a suite: `PARLEY_SEED` replays a run; otherwise a fixed per-suite default. */
export function seedFor(suite: string, fallback: number): number {
  const seed = envInt('PARLEY_SEED', fallback);
  report(suite, { seed, replay: `PARLEY_SEED=${seed}` });
  return seed;
}

/** One greppable line per figure set: `[reliability] <suite> {json}`. */
export function report(suite: string, figures: Record<string, unknown>): void {
  // biome-ignore lint/suspicious/noConsole: the figures are the point of the suite
  console.log(`[reliability] ${suite} ${JSON.stringify(figures)}`);
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Re-checks `check` whenever `subscribe` reports a change, until it returns true; rejects after
 * `timeoutMs` with `describe()` for diagnostics. No fixed sleeps: it waits on the event.
 */
export function waitFor(
  subscribe: (wake: () => void) => () => void,
  check: () => boolean,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const offs: (() => void)[] = [];
    const done = (err?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`condition not met within ${timeoutMs} ms ${describe()}`)),
      timeoutMs,
    );
    offs.push(
      subscribe(() => {
        if (check()) done();
      }),
    );
  });
}

/** Resolves `promise` or rejects after `ms` with `what`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// A hub on node:http that can be stopped and started again on the same port.
// ---------------------------------------------------------------------------------------------

export interface RestartableHub {
  readonly port: number;
  readonly url: string;
  hub: Hub;
  restarts: number;
  /** Closes the hub (graceful 1012) and the HTTP server, then starts both again on the port. */
  restart(between?: () => Promise<void> | void): Promise<void>;
  dispose(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** `options()` is called per start, so every incarnation gets the same (shared) engine. */
export async function startRestartableHub(options: () => HubOptions): Promise<RestartableHub> {
  let server = createServer();
  let hub = createHub(options());
  attachHub(hub, server, { path: '/parley' });
  const port = await listen(server, 0);
  const self: RestartableHub = {
    port,
    url: `ws://127.0.0.1:${port}/parley`,
    hub: hub as Hub,
    restarts: 0,
    async restart(between) {
      await hub.close();
      await closeServer(server);
      await between?.();
      server = createServer();
      hub = createHub(options());
      attachHub(hub, server, { path: '/parley' });
      // The port was just released; binding again can race the kernel under load: retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          await listen(server, port);
          break;
        } catch (err) {
          if (attempt >= 50) throw err;
          await delay(20);
        }
      }
      self.hub = hub as Hub;
      self.restarts++;
    },
    async dispose() {
      await hub.close();
      await closeServer(server);
    },
  };
  return self;
}

// ---------------------------------------------------------------------------------------------
// Chaos proxy
// ---------------------------------------------------------------------------------------------

export interface ChaosOptions {
  /** Probability that a chunk is held back, and for how long at most. */
  delayProbability: number;
  maxDelayMs: number;
}

interface Pair {
  id: number;
  client: net.Socket;
  upstream: net.Socket;
  stalled: boolean;
}

export interface ChaosCounters {
  connections: number;
  refused: number;
  delayedChunks: number;
  chunks: number;
  bytes: number;
  cuts: number;
  resets: number;
  stalls: number;
}

/**
 * A TCP proxy (node:net) on 127.0.0.1 between clients and the hub. Every chunk may be delayed
 * (order kept per direction); `cut` ends a link with FIN on both sides, `reset` with RST, and
 * `stall` stops forwarding without closing (a half-open link the heartbeats must detect).
 */
export class ChaosProxy {
  readonly counters: ChaosCounters = {
    connections: 0,
    refused: 0,
    delayedChunks: 0,
    chunks: 0,
    bytes: 0,
    cuts: 0,
    resets: 0,
    stalls: 0,
  };
  private readonly pairs = new Map<number, Pair>();
  private readonly server: net.Server;
  private nextId = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  port = 0;

  /** A port, or a function choosing one per connection (e.g. round-robin over processes). */
  private readonly targetPort: () => number;

  constructor(
    target: number | (() => number),
    private readonly random: () => number,
    private readonly options: ChaosOptions,
  ) {
    this.targetPort = typeof target === 'number' ? () => target : target;
    this.server = net.createServer((client) => this.onConnection(client));
  }

  async listen(): Promise<string> {
    this.port = await new Promise<number>((resolve) =>
      this.server.listen(0, '127.0.0.1', () =>
        resolve((this.server.address() as AddressInfo).port),
      ),
    );
    return `ws://127.0.0.1:${this.port}/parley`;
  }

  get live(): number {
    return this.pairs.size;
  }

  private onConnection(client: net.Socket): void {
    this.counters.connections++;
    const upstream = net.connect(this.targetPort(), '127.0.0.1');
    const pair: Pair = { id: this.nextId++, client, upstream, stalled: false };
    this.pairs.set(pair.id, pair);
    const drop = () => {
      if (!this.pairs.delete(pair.id)) return;
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') this.counters.refused++;
      drop();
    });
    client.on('error', drop);
    client.once('close', drop);
    upstream.once('close', drop);
    this.forward(pair, client, upstream);
    this.forward(pair, upstream, client);
  }

  /** Forwards `from` -> `to` in order, holding chunks back at random. */
  private forward(pair: Pair, from: net.Socket, to: net.Socket): void {
    const queue: Buffer[] = [];
    let busy = false;
    const pump = (): void => {
      if (busy) return;
      const chunk = queue.shift();
      if (chunk === undefined) return;
      const hold =
        this.random() < this.options.delayProbability
          ? Math.floor(this.random() * this.options.maxDelayMs)
          : 0;
      const write = () => {
        busy = false;
        if (!pair.stalled && !to.destroyed && !to.writableEnded) to.write(chunk);
        pump();
      };
      if (hold === 0) {
        write();
        return;
      }
      this.counters.delayedChunks++;
      busy = true;
      const t = setTimeout(() => {
        this.timers.delete(t);
        write();
      }, hold);
      this.timers.add(t);
    };
    from.on('data', (chunk: Buffer) => {
      this.counters.chunks++;
      this.counters.bytes += chunk.length;
      if (pair.stalled) return;
      queue.push(chunk);
      pump();
    });
  }

  private pick(): Pair | undefined {
    const live = [...this.pairs.values()].filter((p) => !p.stalled);
    if (live.length === 0) return undefined;
    return live[Math.floor(this.random() * live.length)];
  }

  /** Ends a random link with FIN on both sides. */
  cut(): boolean {
    const p = this.pick();
    if (!p) return false;
    this.counters.cuts++;
    this.pairs.delete(p.id);
    p.stalled = true;
    p.client.end();
    p.upstream.end();
    p.client.destroySoon();
    p.upstream.destroySoon();
    return true;
  }

  /** Ends a random link with a TCP RST on both sides. */
  reset(): boolean {
    const p = this.pick();
    if (!p) return false;
    this.counters.resets++;
    this.pairs.delete(p.id);
    p.stalled = true;
    p.client.resetAndDestroy();
    p.upstream.resetAndDestroy();
    return true;
  }

  /** Stops forwarding on a random link without closing it; it is destroyed after `ms`. */
  stall(ms: number): boolean {
    const p = this.pick();
    if (!p) return false;
    this.counters.stalls++;
    p.stalled = true;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pairs.delete(p.id);
      p.client.destroy();
      p.upstream.destroy();
    }, ms);
    this.timers.add(t);
    return true;
  }

  /** One random action: cut, reset or (rarely) stall. */
  strike(stallMs: number): 'cut' | 'reset' | 'stall' | 'none' {
    const r = this.random();
    if (r < 0.45) return this.cut() ? 'cut' : 'none';
    if (r < 0.9) return this.reset() ? 'reset' : 'none';
    return this.stall(stallMs) ? 'stall' : 'none';
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.pairs.values()) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * `fc.assert` without printing megabytes: a failing counterexample (which may be a 60 KB frame)
 * is summarised, with the seed and path to replay it.
 */
export async function checkProperty<T>(
  property: fc.IAsyncProperty<T> | fc.IProperty<T>,
  params: fc.Parameters<T>,
): Promise<void> {
  const details = await fc.check(property as fc.IAsyncProperty<T>, {
    ...params,
    reporter: undefined,
  });
  if (!details.failed) return;
  const shown = JSON.stringify(details.counterexample, (_k, v) =>
    typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v,
  );
  const cause = details.errorInstance;
  throw new Error(
    `property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}): ` +
      `${cause instanceof Error ? cause.message : String(cause)}\ncounterexample: ${shown?.slice(0, 4000)}`,
    { cause },
  );
}
