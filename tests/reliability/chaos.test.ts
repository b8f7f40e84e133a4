/**
 * Chaos: a seeded TCP proxy between real Parley clients and the real hub delays chunks, cuts (FIN),
 * resets (RST) and stalls (half-open) links while a fixed number of messages is sent from several
 * users (two of them with two devices) into shared conversations; a variant also restarts the hub
 * on the same port over the SAME memory engine. At the end every member device holds every
 * message of its conversations exactly once, in seq order, and every send promise resolved.
 *
 *   PARLEY_CHAOS_MESSAGES (300)  messages per run
 *   PARLEY_CHAOS_RESTARTS (2)    hub restarts in the restart variant
 *   PARLEY_SEED                  replays a run (the seed is printed)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, type StoredMessage } from '@parley/client';
import { createMemoryEngine, type Engine, type HubOptions } from '@parley/server-adapter';
import { createRedisEngine } from '@parley/server-adapter/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  deleteKeys,
  REDIS_URL,
  requireRedis,
  uniquePrefix,
} from '../../packages/server-adapter/test/redis/helpers.js';
import {
  ChaosProxy,
  delay,
  envInt,
  prng,
  type RestartableHub,
  report,
  seedFor,
  startRestartableHub,
  waitFor,
  within,
} from './lib.js';

const MESSAGES = envInt('PARLEY_CHAOS_MESSAGES', 300);
const RESTARTS = envInt('PARLEY_CHAOS_RESTARTS', 2);
/** Generous for a loaded 2-core machine; a healthy default run takes a few seconds. */
const TIME_LIMIT_MS = Math.max(90_000, MESSAGES * 200);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_RESTARTS = envInt('PARLEY_CHAOS_KILLS', 4);

const members: Record<string, string[]> = {
  general: ['alice', 'bob', 'carol', 'dave'],
  team: ['alice', 'bob', 'carol'],
  dm: ['bob', 'dave'],
};
const conversationsOf = (u: string) => Object.keys(members).filter((c) => members[c]!.includes(u));
const devices = [
  { user: 'alice', name: 'alice#1' },
  { user: 'alice', name: 'alice#2' },
  { user: 'bob', name: 'bob#1' },
  { user: 'bob', name: 'bob#2' },
  { user: 'carol', name: 'carol#1' },
  { user: 'dave', name: 'dave#1' },
];

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function hubOptions(engine: Engine): () => HubOptions {
  return () => ({
    authenticate: ({ token }) => (token ? { userId: token, profile: { name: token } } : null),
    conversationsOf,
    membersOf: (c) => members[c] ?? [],
    engine, // shared: a hub never closes an engine it did not create
    limits: { rate: { burst: 10_000, perSecond: 10_000, floodThreshold: 100_000 } },
    heartbeat: { intervalMs: 2_000, timeoutMs: 2_000 },
    presence: { graceMs: 100 },
    shutdown: { retryJitterMs: 200, batchIntervalMs: 5, closeTimeoutMs: 1_000 },
  });
}

interface Sent {
  device: string;
  conversationId: string;
  text: string;
  promise: Promise<StoredMessage>;
}

/** What the chaos run talks to: one restartable in-process hub, or hub processes on Redis. */
interface Backend {
  /** The upstream port for the next proxied connection. */
  target: () => number;
  /** Restart number `k` (crash-like or graceful, as the backend decides). */
  restart(k: number, proxy: ChaosProxy): Promise<void>;
  restarts(): number;
  heads(ids: string[]): Promise<Map<string, { seq: number }>>;
}

async function memoryBackend(): Promise<Backend> {
  const engine = createMemoryEngine();
  const rh: RestartableHub = await startRestartableHub(hubOptions(engine));
  cleanup.push(() => engine.close());
  cleanup.push(() => rh.dispose());
  return {
    target: () => rh.port,
    // Odd restarts look like a crash to the clients (every link reset first), even ones are a
    // graceful shutdown (1012 + hint).
    restart: (k, proxy) =>
      rh.restart(() => {
        if (k % 2 === 1) while (proxy.reset());
      }),
    restarts: () => rh.restarts,
    heads: (ids) => engine.heads(ids),
  };
}

/** A hub process on Redis (hub.process.ts), killable with SIGKILL and restartable on its port. */
class HubProcess {
  private child: ChildProcess | undefined;
  port = 0;
  constructor(private readonly env: Record<string, string>) {}

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--conditions=@parley/source', '--import', 'tsx', 'tests/reliability/hub.process.ts'],
        {
          cwd: ROOT,
          env: { ...process.env, ...this.env, PORT: String(this.port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      this.child = child;
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`hub process did not start: ${err.slice(-1000)}`));
      }, 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!/READY/.test(out))
          reject(new Error(`hub process exited ${code}: ${err.slice(-1000)}`));
      });
    });
  }

  /** SIGKILL: no shutdown frame, no close handshake; the process is gone when this resolves. */
  kill(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }
}

async function redisBackend(): Promise<Backend> {
  const prefix = uniquePrefix();
  const env = { REDIS_URL, KEY_PREFIX: prefix, MEMBERS: JSON.stringify(members) };
  const procs = [new HubProcess(env), new HubProcess(env)];
  cleanup.push(() => deleteKeys(prefix));
  cleanup.push(async () => {
    for (const p of procs) await p.kill();
  });
  await Promise.all(procs.map((p) => p.start()));
  let rr = 0;
  let restarts = 0;
  return {
    // Plain round-robin, no sticky sessions: a reconnect usually lands on the other process.
    target: () => procs[rr++ % procs.length]!.port,
    async restart(k) {
      const p = procs[k % procs.length]!;
      await p.kill();
      await p.start();
      restarts++;
    },
    restarts: () => restarts,
    async heads(ids) {
      const engine = createRedisEngine({ redis: REDIS_URL, keyPrefix: prefix });
      try {
        return await engine.heads(ids);
      } finally {
        await engine.close();
      }
    },
  };
}

async function runChaos(
  label: string,
  seed: number,
  restarts: number,
  backend: Backend,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const started = Date.now();
  const random = prng(seed);
  const proxy = new ChaosProxy(backend.target, prng(seed ^ 0x5eed), {
    delayProbability: 0.25,
    maxDelayMs: 25,
  });
  const url = await proxy.listen();
  cleanup.push(() => proxy.close());

  const clients = devices.map((d, i) => {
    const c = createClient({
      url,
      token: d.user,
      WebSocket: WebSocket as never,
      random: prng(seed + i + 1),
      reconnect: { minDelayMs: 5, maxDelayMs: 200, minUptimeMs: 500 },
      heartbeat: { intervalMs: 1_000, timeoutMs: 1_000 },
      ackTimeoutMs: 1_000,
      // The checks read every device's whole history (longer runs pass the default window).
      maxMessages: Number.POSITIVE_INFINITY,
    });
    cleanup.push(() => c.close());
    return { ...d, client: c };
  });
  let resets = 0;
  let reconnects = 0;
  for (const { client } of clients) {
    client.on('reset', () => resets++);
    client.on('reconnect', () => reconnects++);
  }
  const allOpen = () => clients.every((c) => c.client.state === 'open');
  const onAnyState = (wake: () => void) => {
    const offs = clients.map((c) => c.client.on('state', wake));
    return () => {
      for (const off of offs) off();
    };
  };
  await waitFor(onAnyState, allOpen, 10_000, () => clients.map((c) => c.client.state).join(','));

  // Chaos runs until every send settled.
  let running = true;
  const chaos = (async () => {
    while (running) {
      await delay(5 + Math.floor(random() * 40));
      if (running) proxy.strike(1_500);
    }
  })();

  const sent: Sent[] = [];
  const restartAt = new Set(
    Array.from({ length: restarts }, (_, k) => Math.floor((MESSAGES * (k + 1)) / (restarts + 1))),
  );
  const restartsDone: Promise<void>[] = [];
  let restartChain = Promise.resolve();
  for (let i = 0; i < MESSAGES; i++) {
    const d = clients[Math.floor(random() * clients.length)]!;
    const convs = conversationsOf(d.user);
    const conversationId = convs[Math.floor(random() * convs.length)]!;
    const text = `${d.name}:${i}`;
    sent.push({
      device: d.name,
      conversationId,
      text,
      promise: d.client.conversation(conversationId).send(text),
    });
    if (restartAt.has(i)) {
      // Sends keep flowing while the hub restarts.
      const k = [...restartAt].indexOf(i);
      restartChain = restartChain.then(() => backend.restart(k, proxy));
      restartsDone.push(restartChain);
    }
    if (random() < 0.5) await delay(Math.floor(random() * 6));
  }

  const settled = await within(
    Promise.allSettled(sent.map((s) => s.promise)),
    TIME_LIMIT_MS,
    `${label}: send promises`,
  );
  running = false;
  await chaos;
  await Promise.all(restartsDone);

  const rejected = settled.flatMap((r, i) =>
    r.status === 'rejected' ? [`${sent[i]!.text}: ${String(r.reason)}`] : [],
  );
  expect(rejected).toEqual([]);

  // Convergence: every device of every member holds every message of its conversations.
  const expected = new Map<string, Sent[]>();
  for (const s of sent)
    expected.set(s.conversationId, [...(expected.get(s.conversationId) ?? []), s]);
  const converged = () =>
    clients.every((d) =>
      conversationsOf(d.user).every((c) => {
        const msgs = d.client.conversation(c).messages;
        return (
          msgs.length === (expected.get(c)?.length ?? 0) && msgs.every((m) => m.status === 'sent')
        );
      }),
    );
  const onAnyUpdate = (wake: () => void) => {
    const offs = clients.flatMap((d) =>
      conversationsOf(d.user).map((c) => d.client.conversation(c).on('update', wake)),
    );
    return () => {
      for (const off of offs) off();
    };
  };
  await waitFor(onAnyUpdate, converged, 30_000, () =>
    clients
      .map(
        (d) =>
          `${d.name}(${d.client.state}): ${conversationsOf(d.user)
            .map(
              (c) =>
                `${c}=${d.client.conversation(c).messages.length}/${expected.get(c)?.length ?? 0}`,
            )
            .join(' ')}`,
      )
      .join('; '),
  );

  const heads = await backend.heads(Object.keys(members));
  for (const [c, list] of expected) {
    // Exactly-once storage: the head equals the number of distinct sends.
    expect(heads.get(c)?.seq, `head of ${c}`).toBe(list.length);
    const acked = new Map<string, StoredMessage>();
    for (const s of list) {
      const m = await s.promise;
      acked.set(s.text, m);
    }
    let reference: string[] | undefined;
    for (const d of clients) {
      if (!conversationsOf(d.user).includes(c)) continue;
      const msgs = d.client.conversation(c).messages;
      expect(
        msgs.map((m) => m.seq),
        `${d.name} ${c} seqs`,
      ).toEqual(Array.from({ length: list.length }, (_, k) => k + 1));
      expect(new Set(msgs.map((m) => m.id)).size, `${d.name} ${c} unique ids`).toBe(list.length);
      expect(new Set(msgs.map((m) => m.clientMsgId)).size).toBe(list.length);
      expect(new Set(msgs.map((m) => m.text))).toEqual(new Set(list.map((s) => s.text)));
      // Identity and ack agree with what every member holds.
      for (const m of msgs) {
        const a = acked.get(m.text)!;
        expect(m.id).toBe(a.id);
        expect(m.seq).toBe(a.seq);
        expect(m.senderId).toBe(m.text.split('#')[0]);
      }
      // Each device's own sends keep its send order.
      for (const dev of devices) {
        const mine = msgs.filter((m) => m.text.startsWith(`${dev.name}:`)).map((m) => m.text);
        expect(mine).toEqual(list.filter((s) => s.device === dev.name).map((s) => s.text));
      }
      const ids = msgs.map((m) => String(m.id));
      if (reference === undefined) reference = ids;
      else expect(ids, `${d.name} ${c} same history as the other members`).toEqual(reference);
    }
  }
  expect(resets).toBe(0);
  expect(proxy.counters.cuts + proxy.counters.resets).toBeGreaterThan(0);
  expect(backend.restarts()).toBe(restarts);

  report(label, {
    seed,
    messages: MESSAGES,
    devices: clients.length,
    users: 4,
    conversations: Object.keys(members).length,
    lost: 0,
    duplicated: 0,
    rejected: rejected.length,
    cuts: proxy.counters.cuts,
    resets: proxy.counters.resets,
    stalls: proxy.counters.stalls,
    delayedChunks: proxy.counters.delayedChunks,
    tcpConnections: proxy.counters.connections,
    refusedWhileDown: proxy.counters.refused,
    clientReconnects: reconnects,
    hubRestarts: backend.restarts(),
    ...extra,
    durationMs: Date.now() - started,
  });
}

describe('chaos: network faults between clients and hub', () => {
  it(
    `${MESSAGES} messages, 6 devices / 4 users / 3 conversations, delays + FIN cuts + RST resets + stalls`,
    async () => {
      await runChaos('chaos.network', seedFor('chaos.network', 1), 0, await memoryBackend());
    },
    TIME_LIMIT_MS + 60_000,
  );

  it(
    `${MESSAGES} messages with ${RESTARTS} hub restarts on the same port over the same memory engine`,
    async () => {
      await runChaos(
        'chaos.restarts',
        seedFor('chaos.restarts', 2),
        RESTARTS,
        await memoryBackend(),
      );
    },
    TIME_LIMIT_MS + 60_000,
  );

  describe('Redis engine: two hub processes behind the proxy, SIGKILLed and restarted', async () => {
    const redis = await requireRedis('chaos (Redis variant)');
    it.skipIf(!redis)(
      `${MESSAGES} messages, round-robin over 2 hub processes, ${REDIS_RESTARTS} process kills (SIGKILL) + restarts`,
      async () => {
        await runChaos(
          'chaos.redis',
          seedFor('chaos.redis', 7),
          REDIS_RESTARTS,
          await redisBackend(),
          {
            processes: 2,
            engine: 'redis',
          },
        );
      },
      TIME_LIMIT_MS + 120_000,
    );
  });
});
