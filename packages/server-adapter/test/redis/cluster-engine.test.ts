/**
 * What is specific to Redis Cluster (the shared local cluster of `scripts/redis-cluster.sh`):
 * one slot per conversation and per presence bucket whatever the ids contain, sharded pub/sub,
 * the presence sweep over buckets, the epoch fence. (Failovers run on a private cluster, in
 * `cluster-failover.test.ts`: a failover here would reset conversations of the test files that
 * share this cluster.)
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import { opDraft } from '../engine-operations.js';
import {
  anyNode,
  clusterNodes,
  deleteClusterKeys,
  requireRedisCluster,
  shardOf,
  slotOf,
} from './cluster-helpers.js';
import { Collector, draft, uniquePrefix } from './helpers.js';

const available = await requireRedisCluster('redis engine on redis cluster');

/** Every key under `prefix` on every primary. */
async function keysUnder(prefix: string): Promise<string[]> {
  const ports = await anyNode(async (r) => {
    const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return [...new Set(ranges.map((x) => x[2][1]))];
  });
  const out: string[] = [];
  for (const port of ports) {
    const r = new Redis(port, '127.0.0.1');
    try {
      out.push(...(await r.keys(`${prefix}*`)));
    } finally {
      r.disconnect();
    }
  }
  return out;
}

describe.skipIf(!available)('redis engine on redis cluster', () => {
  const prefixes: string[] = [];
  const engines: RedisEngine[] = [];
  const make = (
    o: { now?: () => number; redis?: Cluster } = {},
    keyPrefix = uniquePrefix(),
  ): RedisEngine => {
    prefixes.push(keyPrefix);
    const e = createRedisEngine({ redis: clusterNodes(), keyPrefix, ...o });
    engines.push(e);
    return e;
  };
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteClusterKeys(p);
  });

  it('refuses a key prefix with braces (it would take over the hash tags)', () => {
    expect(() => createRedisEngine({ redis: clusterNodes(), keyPrefix: 'app{1}:' })).toThrow(
      TypeError,
    );
  });

  it.each(['plain', 'a}b', '{x}', '}{', '%7d', ''])(
    'keeps every key and the channel of conversation %j in one slot',
    async (id) => {
      const prefix = uniquePrefix();
      const e = make({}, prefix);
      await e.addMembers(id, ['alice', 'bob']);
      const m = await e.append({ draft: draft(id, 'hi'), origin: 'c1' });
      await e.claimSend(id, 'alice', 'pending', 10_000);
      await e.setRead(id, 'bob', m.message.seq);
      await e.removeMembers(id, ['bob']);
      const keys = (await keysUnder(prefix)).filter((k) => !k.endsWith('ctl-mark'));
      expect(keys.length).toBeGreaterThanOrEqual(7);
      const channelSlot = await slotOf(
        `${prefix}conv:{c:${id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}}`,
      );
      for (const k of keys) expect([k, await slotOf(k)]).toEqual([k, channelSlot]);
    },
  );

  it('keeps every key of a user in the slot of its presence bucket', async () => {
    const prefix = uniquePrefix();
    const e = make({}, prefix);
    await e.presenceConnect('u{1}', 'c1', 60_000);
    await e.presenceDisconnect('u{1}', 'c1', 1000);
    await e.recordKick('u{1}', { code: 4403, reason: 'banned' });
    const keys = (await keysUnder(prefix)).filter((k) => !k.endsWith('ctl-mark'));
    expect(keys.length).toBe(3); // presence, kick, deadlines (conns went with its only entry)
    const slots = new Set(await Promise.all(keys.map((k) => slotOf(k))));
    expect(slots.size).toBe(1);
  });

  it('fans out on shard channels, not on the cluster bus', async () => {
    const prefix = uniquePrefix();
    const e = make({}, prefix);
    const got = new Collector<Envelope>();
    await e.subscribe('conv:sharded', got.push);
    const channel = `${prefix}conv:{c:sharded}`;
    const { primary } = await shardOf(channel);
    const node = new Redis(primary, '127.0.0.1');
    try {
      const sharded = (await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
      expect(Number(sharded[1])).toBe(1);
      const plain = (await node.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      expect(Number(plain[1])).toBe(0);
    } finally {
      node.disconnect();
    }
    await e.append({ draft: draft('sharded', 'one'), origin: undefined });
    await e.publish('conv:sharded', {
      kind: 'typing',
      conversationId: 'sharded',
      userId: 'bob',
    } as Envelope);
    await got.until((items) => items.length === 2);
    expect(got.items.map((x) => x.kind)).toEqual(['message', 'typing']);
  });

  it('sweeps users of every presence bucket, each transition once', async () => {
    let clock = Date.now();
    const a = make({ now: () => clock });
    const b = createRedisEngine({
      redis: clusterNodes(),
      keyPrefix: a.keyPrefix,
      now: () => clock,
    });
    engines.push(b);
    const users = Array.from({ length: 80 }, (_, i) => `user-${i}`);
    for (const u of users) await a.presenceConnect(u, `c-${u}`, 1000);
    for (const u of users) await a.presenceDisconnect(u, `c-${u}`, 500);
    clock += 1000;
    const [x, y] = await Promise.all([a.presenceSweep(), b.presenceSweep()]);
    const swept = [...x, ...y].map((p) => p.userId).sort();
    expect(swept).toEqual([...users].sort());
    expect(await a.presenceSweep()).toEqual([]);
  });

  it('gives a conversation a new epoch when its meta was written by another primary (lost writes)', async () => {
    const prefix = uniquePrefix();
    const e = make({}, prefix);
    const first = await e.append({ draft: draft('fenced', 'one'), origin: undefined });
    const before = (await e.heads(['fenced'])).get('fenced')!;
    // What a promoted replica finds: the replication id of the primary that wrote the meta.
    const meta = `${prefix}meta:{c:fenced}`;
    const node = new Redis((await shardOf(meta)).primary, '127.0.0.1');
    try {
      await node.hset(meta, 'node', '0123456789abcdef0123456789abcdef01234567');
    } finally {
      node.disconnect();
    }
    const got = new Collector<Envelope>();
    await e.subscribe('conv:fenced', got.push);
    const second = await e.append({ draft: draft('fenced', 'two'), origin: undefined });
    const after = (await e.heads(['fenced'])).get('fenced')!;
    expect(after.epoch).not.toBe(before.epoch);
    expect(second.message.seq).toBe(first.message.seq + 1);
    await got.until((items) => items.length === 1);
    expect((got.items[0] as { epoch?: string }).epoch).toBe(after.epoch);
    // Operations of the old epoch keep counting: a deleted message stays deleted.
    const del = await e.applyOperation({ draft: opDraft('fenced', 1, 'delete') });
    expect(del.state).toBe('stored');
    const node2 = new Redis((await shardOf(meta)).primary, '127.0.0.1');
    try {
      await node2.hset(meta, 'node', 'fedcba9876543210fedcba9876543210fedcba98');
    } finally {
      node2.disconnect();
    }
    const rotated = await e.range('fenced', 0, 100);
    expect(rotated.head.epoch).not.toBe(after.epoch);
    expect(rotated.complete).toBe(true);
    expect(rotated.messages[0]).toMatchObject({ seq: 1, deleted: true });
    expect(rotated.messages[0]!.text).toBe('');
    // Once: the next append keeps the new epoch.
    await e.append({ draft: draft('fenced', 'three'), origin: undefined });
    expect((await e.heads(['fenced'])).get('fenced')!.epoch).toBe(rotated.head.epoch);
  });

  it('takes an ioredis Cluster of the app, and leaves it open on close', async () => {
    const app = new Cluster(clusterNodes());
    try {
      const e = make({ redis: app });
      expect(e.cluster).toBe(true);
      const got = new Collector<Envelope>();
      await e.subscribe('conv:app-cluster', got.push);
      await e.append({ draft: draft('app-cluster', 'hi'), origin: undefined });
      await got.until((items) => items.length === 1);
      await e.close();
      expect(await app.ping()).toBe('PONG');
    } finally {
      app.disconnect();
    }
  });
});
