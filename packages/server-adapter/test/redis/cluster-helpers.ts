/**
 * The local Redis Cluster of the tests (`scripts/redis-cluster.sh`: 3 primaries + 3 replicas on
 * 127.0.0.1:7101-7106). A test module that needs it starts it when it is not answering; under
 * `CI=true` it must come up, outside CI a missing `redis-server` skips loudly.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';

export const CLUSTER_BASE_PORT = Number(process.env.PARLEY_TEST_REDIS_CLUSTER_PORT ?? 7101);
export const SCRIPT = fileURLToPath(
  new URL('../../../../scripts/redis-cluster.sh', import.meta.url),
);

/** Startup nodes of a cluster on ports base..base+5. */
export const clusterNodes = (base = CLUSTER_BASE_PORT): { host: string; port: number }[] =>
  Array.from({ length: 6 }, (_, i) => ({ host: '127.0.0.1', port: base + i }));

/** Runs `scripts/redis-cluster.sh <cmd> <base>`; returns its exit status and output. */
export function clusterScript(cmd: 'start' | 'stop' | 'status', base = CLUSTER_BASE_PORT) {
  const r = spawnSync('bash', [SCRIPT, cmd, String(base)], { encoding: 'utf8', timeout: 90_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * Call at module level: resolves to whether the cluster tests can run, starting the cluster when
 * it is not answering.
 */
export async function requireRedisCluster(
  suite: string,
  base = CLUSTER_BASE_PORT,
): Promise<boolean> {
  if (clusterScript('status', base).ok) return true;
  const hasServer = spawnSync('redis-server', ['--version']).status === 0;
  const started = hasServer ? clusterScript('start', base) : undefined;
  if (started?.ok) return true;
  const why = hasServer
    ? `could not start the Redis Cluster on ${base}-${base + 5}: ${started?.output}`
    : 'no redis-server binary on PATH for the Redis Cluster';
  if (process.env.CI === 'true') throw new Error(`${suite}: ${why} (required under CI=true)`);
  console.warn(`\n\n!!! ${suite}: ${why} — these Redis Cluster tests are SKIPPED. !!!\n`);
  return false;
}

/** Deletes every key under `prefix` on every primary of the cluster. */
export async function deleteClusterKeys(prefix: string, base = CLUSTER_BASE_PORT): Promise<void> {
  const c = new Cluster(clusterNodes(base), { redisOptions: { maxRetriesPerRequest: 1 } });
  c.on('error', () => {});
  try {
    await Promise.all(
      c.nodes('master').map(async (node) => {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          // One UNLINK per key: keys of different slots cannot share a command.
          await Promise.all(keys.map((k) => node.unlink(k)));
        } while (cursor !== '0');
      }),
    );
  } finally {
    c.disconnect();
  }
}

/** Runs a command on the first node of the cluster that answers. */
export async function anyNode<T>(
  run: (r: Redis) => Promise<T>,
  base = CLUSTER_BASE_PORT,
): Promise<T> {
  let last: unknown;
  for (const { port } of clusterNodes(base)) {
    const r = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      connectTimeout: 500,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      return await run(r);
    } catch (err) {
      last = err;
    } finally {
      r.disconnect();
    }
  }
  throw last;
}

/** The primary and replica ports serving a key's (or shard channel's) slot right now. */
export async function shardOf(
  key: string,
  base = CLUSTER_BASE_PORT,
): Promise<{ slot: number; primary: number; replicas: number[] }> {
  return anyNode(async (r) => {
    const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await r.call('CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number],
      ...[string, number][],
    ][];
    for (const [from, to, primary, ...replicas] of ranges) {
      if (slot >= from && slot <= to)
        return { slot, primary: primary[1], replicas: replicas.map((x) => x[1]) };
    }
    throw new Error(`slot ${slot} is not served`);
  }, base);
}

/** The slot of a key. */
export const slotOf = (key: string, base = CLUSTER_BASE_PORT): Promise<number> =>
  anyNode(async (r) => Number(await r.call('CLUSTER', 'KEYSLOT', key)), base);
