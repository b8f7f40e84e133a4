/**
 * The soak run, in its own process (started by soak.test.ts with `--expose-gc`):
 *   1. warm-up: every user connects once, every room's history and idempotency store are filled
 *      to their caps, everyone leaves -> baseline (heap after GC, active handles by type);
 *   2. soak: CONNECTIONS Parley clients with steady traffic and reconnect churn (links killed,
 *      clients closed and replaced) for SECONDS;
 *   3. everyone leaves -> heap and handles must return to the baseline.
 * Prints one JSON line prefixed with `SOAK_RESULT `.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createClient, type ParleyClient } from '@parley/client';
import { createHub, createMemoryEngine } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { WebSocket } from 'ws';
import { prng } from '../../packages/client/test/integration/hub.js';

const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 200);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 8);
const SEED = Number(process.env.SOAK_SEED ?? 6);
const ROOMS = Math.max(4, Math.ceil(CONNECTIONS / 40));
const USERS = Math.ceil(CONNECTIONS / 2); // two devices per user
const HISTORY = 100;
const IDEMPOTENCY = 300;
const random = prng(SEED);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const roomsOf = (u: string): string[] => {
  const i = Number(u.slice(1));
  return [`r${i % ROOMS}`, `r${(i * 7 + 3) % ROOMS}`].filter((r, k, a) => a.indexOf(r) === k);
};

async function settle(): Promise<{ heapMB: number; handles: Record<string, number> }> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await yieldToLoop();
  }
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  return { heapMB: process.memoryUsage().heapUsed / 2 ** 20, handles };
}

/** Waits (event-driven polling of the hub's own counters on each loop turn) with a deadline. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`soak: ${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const engine = createMemoryEngine({
    history: { maxMessages: HISTORY },
    idempotency: { maxEntries: IDEMPOTENCY },
  });
  const users = Array.from({ length: USERS }, (_, i) => `u${i}`);
  // Users whose latest presence announcement is "offline" (see leaveAll).
  const offline = new Set<string>(users);
  const unsubscribePresence = await engine.subscribe('presence', (e) => {
    if (e.kind !== 'presence') return;
    if (e.online) offline.delete(e.userId);
    else offline.add(e.userId);
  });
  const hub = createHub({
    authenticate: ({ token }) => (token ? { userId: token, profile: { name: token } } : null),
    conversationsOf: roomsOf,
    engine,
    presence: { graceMs: 50 },
    limits: { rate: { burst: 1_000, perSecond: 1_000, floodThreshold: 100_000 } },
    shutdown: { closeTimeoutMs: 1_000 },
  });
  const server = createServer();
  const serverSockets = new Set<Socket>();
  server.on('connection', (s) => {
    serverSockets.add(s);
    s.once('close', () => serverSockets.delete(s));
  });
  attachHub(hub, server, { path: '/parley' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/parley`;

  let clients: ParleyClient[] = [];
  const spawn = (user: string): ParleyClient => {
    const c = createClient({
      url,
      token: user,
      WebSocket: WebSocket as never,
      random,
      reconnect: { minDelayMs: 10, maxDelayMs: 500 },
      ackTimeoutMs: 5_000,
    });
    return c;
  };
  const connectAll = async (users: string[]) => {
    for (let i = 0; i < users.length; i += 100) {
      const batch = users.slice(i, i + 100).map(spawn);
      clients.push(...batch);
      await until(() => batch.every((c) => c.state === 'open'), 60_000, 'batch open');
    }
  };
  const leaveAll = async () => {
    for (const c of clients) c.close();
    clients = [];
    await until(
      () => {
        const s = hub.stats();
        return s.connections === 0 && s.sessions === 0 && s.users === 0 && serverSockets.size === 0;
      },
      30_000,
      'everyone gone',
    );
    // Every user's "offline" is announced when its presence grace timer fires: wait for all of
    // them, so that no timer is still pending when handles are counted.
    await until(() => users.every((u) => offline.has(u)), 30_000, 'offline announced');
  };

  // 1. Warm-up and baseline.
  await connectAll(users);
  for (let r = 0; r < ROOMS; r++)
    for (let k = 0; k < IDEMPOTENCY + 10; k++)
      await hub.publish(`r${r}`, { text: `warm ${k}`, clientMsgId: `warm-${r}-${k}` });
  await leaveAll();
  const baseline = await settle();

  // 2. Soak.
  const devices = Array.from({ length: CONNECTIONS }, (_, i) => users[i % USERS]!);
  await connectAll(devices);
  let sent = 0;
  let killed = 0;
  let replaced = 0;
  let maxHeapMB = 0;
  let maxRssMB = 0;
  const pending = new Set<Promise<unknown>>();
  const pendingClient = new Map<Promise<unknown>, ParleyClient>();
  const failures: string[] = [];
  const end = Date.now() + SECONDS * 1_000;
  while (Date.now() < end) {
    // Steady traffic: up to 10 messages per 100 ms tick (each fans out to ~2 x CONNECTIONS/ROOMS
    // devices), whatever the number of connections: a soak, not a load test.
    for (let k = 0; k < Math.max(1, Math.min(10, CONNECTIONS / 20)); k++) {
      const i = Math.floor(random() * clients.length);
      const c = clients[i]!;
      const user = devices[i]!;
      const rooms = roomsOf(user);
      const p = c
        .conversation(rooms[Math.floor(random() * rooms.length)]!)
        .send(`m${sent++}`)
        .catch((err: unknown) => {
          // A client closed by the churn rejects its pending sends (ClientClosedError): expected.
          if ((err as Error).name !== 'ClientClosedError') failures.push(String(err));
        });
      pendingClient.set(p, c);
      pending.add(p);
      void p.finally(() => {
        pending.delete(p);
        pendingClient.delete(p);
      });
    }
    // Churn: kill a few links (they reconnect) and replace a few clients (≤ 3 each per tick).
    for (let k = 0; k < Math.max(1, Math.min(3, CONNECTIONS / 200)); k++) {
      const socks = [...serverSockets];
      const s = socks[Math.floor(random() * socks.length)];
      if (s) {
        s.destroy();
        killed++;
      }
      const i = Math.floor(random() * clients.length);
      clients[i]!.close();
      clients[i] = spawn(devices[i]!);
      replaced++;
    }
    const m = process.memoryUsage();
    maxHeapMB = Math.max(maxHeapMB, m.heapUsed / 2 ** 20);
    maxRssMB = Math.max(maxRssMB, m.rss / 2 ** 20);
    await new Promise((r) => setTimeout(r, 100));
  }
  await until(() => pending.size === 0, 120_000, 'sends settled').catch((err: Error) => {
    const states: Record<string, number> = {};
    for (const p of pending) {
      const st = pendingClient.get(p)!.state;
      states[st] = (states[st] ?? 0) + 1;
    }
    throw new Error(
      `${err.message}: ${pending.size} pending, client states ${JSON.stringify(states)}, hub ${JSON.stringify(hub.stats())}`,
    );
  });
  const statsAtEnd = hub.stats();
  await leaveAll();
  const after = await settle();

  await hub.close();
  await unsubscribePresence();
  await new Promise<void>((r) => server.close(() => r()));
  await engine.close();
  const out = {
    connections: CONNECTIONS,
    seconds: SECONDS,
    seed: SEED,
    users: USERS,
    rooms: ROOMS,
    messagesSent: sent,
    linksKilled: killed,
    clientsReplaced: replaced,
    failures,
    messagesStored: statsAtEnd.messagesStored,
    baselineHeapMB: +baseline.heapMB.toFixed(1),
    afterHeapMB: +after.heapMB.toFixed(1),
    maxHeapMB: +maxHeapMB.toFixed(1),
    maxRssMB: +maxRssMB.toFixed(1),
    baselineHandles: baseline.handles,
    afterHandles: after.handles,
    durationMs: Date.now() - started,
  };
  process.stdout.write(`SOAK_RESULT ${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
