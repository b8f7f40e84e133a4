/**
 * Silent links on Redis Cluster (see `silent-link.test.ts`): every node of the shared local
 * cluster behind a TCP proxy of the test's own (ioredis' `natMap` sends the engine through them),
 * and the proxies' open links made silent at once. The command connection of each node and each
 * shard's subscriber are pinged; a silent one is dropped, ioredis rebuilds it, and the subscriber
 * fills the gap from the history.
 */
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import { clusterNodes, deleteClusterKeys, requireRedisCluster } from './cluster-helpers.js';
import { Collector, draft, uniquePrefix } from './helpers.js';
import { type TcpProxy, tcpProxy } from './tcp-proxy.js';

const available = await requireRedisCluster('redis engine silent links on redis cluster');

const seqsOf = (items: Envelope[]) =>
  items.flatMap((e) => (e.kind === 'message' ? [e.message.seq] : []));

describe.skipIf(!available)('redis engine: silent links on redis cluster', () => {
  const prefix = uniquePrefix();
  const engines: RedisEngine[] = [];
  let proxies: TcpProxy[] = [];
  beforeAll(async () => {
    proxies = await Promise.all(clusterNodes().map(({ port }) => tcpProxy(port)));
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await deleteClusterKeys(prefix);
  });
  /** A cluster client that reaches every node through its proxy. */
  const proxied = (): Cluster =>
    new Cluster([{ host: '127.0.0.1', port: proxies[0]!.port }], {
      natMap: Object.fromEntries(
        clusterNodes().map(({ host, port }, i) => [
          `${host}:${port}`,
          { host: '127.0.0.1', port: proxies[i]!.port },
        ]),
      ),
    });

  it('silent command and subscriber links are dropped and rebuilt; nothing published meanwhile is lost', async () => {
    const conn = proxied();
    const a = createRedisEngine({
      redis: conn,
      keyPrefix: prefix,
      health: { intervalMs: 100, timeoutMs: 300 },
    });
    const b = createRedisEngine({ redis: clusterNodes(), keyPrefix: prefix });
    engines.push(a, b);
    const conv = `silent-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    await b.append({ draft: draft(conv, 'before') });
    await seen.until((items) => seqsOf(items).length === 1);

    // The conversation's shard is reached through a proxy: its command and subscriber links.
    expect(proxies.reduce((n, p) => n + p.links, 0)).toBeGreaterThanOrEqual(2);
    for (const p of proxies) p.blackhole();
    await b.append({ draft: draft(conv, 'during') });
    // Sent into a silent command link: answered once the link is rebuilt.
    const inFlight = a.append({ draft: draft(conv, 'in flight') });
    expect((await inFlight).message.seq).toBe(3);
    await seen.until((items) => seqsOf(items).length === 3, 10_000);
    expect(seqsOf(seen.items)).toEqual([1, 2, 3]);
    await a.close();
    conn.disconnect();
  });
});
