/**
 * Failover on Redis Cluster, on a private 3+3 cluster. First a manual (lossless) failover under
 * one engine: the subscriber follows the promoted replica, the conversation gets a new epoch.
 * Then end to end: a private 3+3 cluster (`scripts/redis-cluster.sh` on
 * ports 7201-7206, never the shared one), the three hub processes of `examples/cluster` on it
 * behind the example's round-robin proxy, real Parley clients recording every frame, traffic
 * across 200 conversations spread over the slots — and `kill -9` of a primary mid-traffic.
 *
 * Its replica is promoted. Then, for every member of every conversation: every acknowledged
 * message is held exactly once, in seq order, or the member got an explicit `reset` for the
 * conversation (the promoted replica may lack the primary's last writes; the engine rotates the
 * epoch so that seqs are never reused silently). Every send promise settles.
 *
 *   PARLEY_FAILOVER_SENDS (600)  sends before and during the failover
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ServerFrame } from '@parley/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnHub } from '../../../../examples/cluster/src/main.js';
import {
  type RoundRobinProxy,
  startRoundRobinProxy,
} from '../../../../examples/cluster/src/proxy.js';
import { createClient, type ParleyClient, type StoredMessage } from '../../../client/src/index.js';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import { clusterNodes, clusterScript, requireRedisCluster, shardOf } from './cluster-helpers.js';
import { Collector, draft, eventually, uniquePrefix } from './helpers.js';

const BASE = Number(process.env.PARLEY_TEST_FAILOVER_CLUSTER_PORT ?? 7201);
const SENDS = Number(process.env.PARLEY_FAILOVER_SENDS ?? 600);
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const CONVERSATIONS: Record<string, string[]> = Object.fromEntries(
  Array.from({ length: 200 }, (_, i) => [
    `c-${i}`,
    [USERS[i % 6]!, USERS[(i + 1) % 6]!, USERS[(i + 3) % 6]!],
  ]),
);
const conversationsOf = (u: string) =>
  Object.keys(CONVERSATIONS).filter((c) => CONVERSATIONS[c]!.includes(u));

const available = await requireRedisCluster('redis cluster failover', BASE);

/** Resolves when `check` returns a value; re-checked on every wake-up; rejects after timeoutMs. */
function waitFor<T>(
  what: string,
  check: () => T | undefined,
  subscribe: (wake: () => void) => () => void,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = (): void => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const attempt = (): void => {
      const v = check();
      if (v === undefined) return;
      clearTimeout(timer);
      off();
      resolve(v);
    };
    off = subscribe(attempt);
    attempt();
  });
}

interface Member {
  user: string;
  client: ParleyClient;
  /** Frames received, per socket. */
  sockets: ServerFrame[][];
  /** Conversations this member got a `reset` for. */
  resets: Set<string>;
}

describe.skipIf(!available)('redis cluster: kill -9 of a primary under three hub processes', () => {
  const prefix = uniquePrefix();
  let hubs: { child: ChildProcess; port: number }[] = [];
  let proxy: RoundRobinProxy | undefined;
  const members: Member[] = [];
  const engines: RedisEngine[] = [];

  beforeAll(async () => {
    const env = {
      REDIS_CLUSTER_NODES: clusterNodes(BASE)
        .map((n) => `${n.host}:${n.port}`)
        .join(','),
      PARLEY_KEY_PREFIX: prefix,
      PARLEY_CONVERSATIONS: JSON.stringify(CONVERSATIONS),
    };
    const quiet = (): void => {};
    hubs = await Promise.all([spawnHub(env, quiet), spawnHub(env, quiet), spawnHub(env, quiet)]);
    proxy = await startRoundRobinProxy({
      backends: hubs.map((h) => ({ host: '127.0.0.1', port: h.port })),
    });
  }, 90_000);

  afterAll(async () => {
    for (const e of engines) await e.close();
    for (const m of members) m.client.close();
    await proxy?.close();
    await Promise.all(
      hubs.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    // A private cluster: the killed primary's files go with it.
    clusterScript('stop', BASE);
  }, 60_000);

  function connect(user: string): Member {
    const sockets: ServerFrame[][] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        const log: ServerFrame[] = [];
        sockets.push(log);
        this.on('message', (data) => log.push(JSON.parse(String(data)) as ServerFrame));
      }
    }
    const client = createClient({
      url: `ws://127.0.0.1:${proxy!.port}/parley`,
      token: user,
      WebSocket: RecordingWebSocket,
      reconnect: { minDelayMs: 20, maxDelayMs: 500 },
      ackTimeoutMs: 5000,
    });
    const m: Member = { user, client, sockets, resets: new Set() };
    client.on('reset', (ev) => m.resets.add(ev.conversationId));
    members.push(m);
    return m;
  }

  it('follows a failover: resubscribes on the promoted replica and changes the epoch', async () => {
    const prefix = uniquePrefix();
    const e = createRedisEngine({ redis: clusterNodes(BASE), keyPrefix: prefix });
    engines.push(e);
    const id = `fo-${randomUUID()}`;
    const got = new Collector<Envelope>();
    await e.subscribe(`conv:${id}`, got.push);
    const first = await e.append({ draft: draft(id, 'before'), origin: undefined });
    await got.until((items) => items.length === 1);
    const before = (await e.heads([id])).get(id)!;

    // A fresh cluster's slot map may not list the replicas yet (gossip): wait for them.
    const { replicas } = await eventually(
      () => shardOf(`${prefix}meta:{c:${id}}`, BASE),
      (s) => s.replicas.length > 0,
      20_000,
    );
    const replica = new Redis(replicas[0]!, '127.0.0.1');
    try {
      // A manual failover loses nothing, but the engine cannot know: the epoch is rotated.
      await replica.call('CLUSTER', 'FAILOVER');
      await eventually(
        async () => ((await replica.role()) as unknown[])[0],
        (role) => role === 'master',
        20_000,
      );
    } finally {
      replica.disconnect();
    }
    const after = await eventually(
      () => e.append({ draft: draft(id, 'after'), origin: undefined }).catch(() => undefined),
      (r) => r !== undefined,
      20_000,
    );
    const head = (await e.heads([id])).get(id)!;
    expect(head.epoch).not.toBe(before.epoch);
    expect(after!.message.seq).toBe(first.message.seq + 1);
    await got.until((items) => items.length === 2, 20_000);
    const last = got.items[1] as Envelope & { epoch?: string };
    expect(last.kind).toBe('message');
    expect(last.epoch).toBe(head.epoch);
  }, 60_000);

  it('every acknowledged message reaches every member exactly once in seq order, or a reset says it cannot', async () => {
    const started = Date.now();
    for (const u of USERS) connect(u);
    await Promise.all(
      members.map((m) =>
        waitFor(
          `${m.user} open`,
          () => (m.client.state === 'open' ? true : undefined),
          (wake) => m.client.on('state', wake),
          30_000,
        ),
      ),
    );

    // The victim: the primary of c-0's slot.
    const shard = await eventually(
      () => shardOf(`${prefix}meta:{c:c-0}`, BASE),
      (s) => s.replicas.length > 0,
      20_000,
    );
    const victimPort = shard.primary;
    const replicaPort = shard.replicas[0]!;
    const onVictim = new Set<string>();
    for (const c of Object.keys(CONVERSATIONS)) {
      const s = await shardOf(`${prefix}meta:{c:${c}}`, BASE);
      if (s.primary === victimPort) onVictim.add(c);
    }
    // 200 conversations over 3 shards: every shard owns some of them.
    expect(onVictim.size).toBeGreaterThan(20);
    expect(onVictim.size).toBeLessThan(150);

    const acked = new Map<string, StoredMessage[]>();
    const record = (m: StoredMessage): void => {
      const list = acked.get(m.conversationId) ?? [];
      list.push(m);
      acked.set(m.conversationId, list);
    };
    let ok = 0;
    let failed = 0;
    let killing: Promise<void> | undefined;
    const kill = async (): Promise<void> => {
      const node = new Redis(victimPort, '127.0.0.1');
      const info = await node.info('server');
      node.disconnect();
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
      process.kill(pid, 'SIGKILL');
    };
    // Phase 1: each member sends into its conversations, 4 in flight; the victim is killed once
    // a third of the sends are acknowledged, so the rest runs through the failover.
    const perMember = Math.ceil(SENDS / members.length);
    await Promise.all(
      members.map(async (m, i) => {
        const convs = conversationsOf(m.user);
        let next = 0;
        const lane = async (): Promise<void> => {
          for (let n = next++; n < perMember; n = next++) {
            const conv = convs[(n * 7 + i) % convs.length]!;
            try {
              record(await m.client.conversation(conv).send(`${m.user}:${n}`));
              ok++;
            } catch {
              failed++;
            }
            if (ok === Math.floor(SENDS / 3) && killing === undefined) killing = kill();
          }
        };
        await Promise.all([lane(), lane(), lane(), lane()]);
      }),
    );
    await killing;
    expect(killing).toBeDefined();

    // The replica is promoted (cluster-node-timeout 2 s).
    const replica = new Redis(replicaPort, '127.0.0.1');
    try {
      await eventually(
        async () => ((await replica.role()) as unknown[])[0],
        (role) => role === 'master',
        30_000,
      );
    } finally {
      replica.disconnect();
    }

    // Phase 2: one message into every conversation from its first member, so that every
    // conversation is written on its (possibly new) primary; retried while the cluster settles.
    await Promise.all(
      Object.entries(CONVERSATIONS).map(async ([conv, users]) => {
        const m = members.find((x) => x.user === users[0])!;
        for (let attempt = 0; ; attempt++) {
          try {
            record(await m.client.conversation(conv).send(`after:${conv}`));
            ok++;
            return;
          } catch (err) {
            failed++;
            if (attempt === 5) throw err;
          }
        }
      }),
    );

    // Every member holds every acknowledged message of its conversations, or got a reset.
    const settled = (m: Member, conv: string): boolean => {
      if (m.resets.has(conv)) return true;
      const held = new Set(
        m.client
          .conversation(conv)
          .messages.filter((x) => x.status === 'sent')
          .map((x) => x.id),
      );
      return (acked.get(conv) ?? []).every((a) => held.has(a.id));
    };
    for (const m of members) {
      await waitFor(
        `${m.user} to hold every acknowledged message`,
        () => (conversationsOf(m.user).every((c) => settled(m, c)) ? true : undefined),
        (wake) => {
          const offs = [m.client.on('message', wake), m.client.on('reset', wake)];
          return () => {
            for (const off of offs) off();
          };
        },
        60_000,
      );
    }

    const resetConversations = new Set(members.flatMap((m) => [...m.resets]));
    for (const m of members) {
      for (const conv of conversationsOf(m.user)) {
        // What the server sent on each socket: between resets, seqs strictly increasing.
        for (const frames of m.sockets) {
          let last = 0;
          for (const f of frames) {
            if (f.type === 'reset' && f.conversationId === conv) last = f.seq;
            // An ack with `duplicate` answers a retried send; it is not a delivery.
            const msg =
              f.type === 'message'
                ? f.message
                : f.type === 'ack' && f.duplicate !== true
                  ? f.message
                  : undefined;
            if (msg === undefined || msg.conversationId !== conv) continue;
            expect(msg.seq, `${m.user} ${conv}`).toBeGreaterThan(last);
            last = msg.seq;
          }
        }
        if (m.resets.has(conv)) continue;
        // No reset: each acknowledged message exactly once, in seq order.
        const held = m.client.conversation(conv).messages.filter((x) => x.status === 'sent');
        const ids = held.map((x) => x.id);
        expect(new Set(ids).size).toBe(ids.length);
        const seqs = held.map((x) => x.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
    }
    // No seq reused silently: in a conversation nobody got a reset for, one message per seq.
    for (const conv of Object.keys(CONVERSATIONS)) {
      if (resetConversations.has(conv)) continue;
      const bySeq = new Map<number, string>();
      for (const m of members) {
        if (!CONVERSATIONS[conv]!.includes(m.user)) continue;
        for (const x of m.client.conversation(conv).messages) {
          if (x.status !== 'sent') continue;
          const seen = bySeq.get(x.seq);
          if (seen !== undefined) expect(x.id, `${conv} seq ${x.seq}`).toBe(seen);
          bySeq.set(x.seq, x.id);
        }
      }
    }
    // Resets only where the failover was: conversations of the killed primary's slots.
    for (const conv of resetConversations) expect(onVictim.has(conv), conv).toBe(true);
    console.log(
      JSON.stringify({
        suite: 'redis cluster failover',
        sends: ok + failed,
        acknowledged: ok,
        failed,
        conversationsOnVictim: onVictim.size,
        conversationsReset: resetConversations.size,
        ms: Date.now() - started,
      }),
    );
    expect(ok).toBeGreaterThan(SENDS / 3);
  }, 240_000);
});
