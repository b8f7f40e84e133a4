/**
 * The hub integration suite, unchanged, over the Redis engine on the local Redis Cluster
 * (`scripts/redis-cluster.sh`: hash-tagged keys, sharded pub/sub), with a fresh
 * key prefix per engine so every test starts from an empty store, like the memory engine.
 */
import { afterAll, describe } from 'vitest';
import { createRedisEngine } from '../src/engines/redis/index.js';
import { clusterNodes, deleteClusterKeys, requireRedisCluster } from './redis/cluster-helpers.js';
import { uniquePrefix } from './redis/helpers.js';
import { deliverySuite } from './suites/delivery.js';
import { inboxSuite } from './suites/inbox.js';
import { membershipOrderSuite } from './suites/membership-order.js';
import { operationsSuite } from './suites/operations.js';
import { resumeSuite } from './suites/resume.js';
import { robustnessSuite } from './suites/robustness.js';
import { signalsSuite } from './suites/signals.js';
import type { EngineFactory } from './utils/fixture.js';
import { tServers } from './utils/servers.js';

const available = await requireRedisCluster('hub suite over the redis engine on redis cluster');

describe.skipIf(!available)('hub suite × redis cluster', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteClusterKeys(p);
  });
  const create: EngineFactory = ({ maxMessages }) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({
      redis: clusterNodes(),
      keyPrefix,
      ...(maxMessages === undefined ? {} : { history: { maxMessages } }),
    });
  };
  // One server adapter is enough here: the adapters do not touch the engine (the single-node
  // suite runs them all).
  for (const server of tServers.slice(0, 1)) {
    describe(`${server.name} × redis cluster`, () => {
      const env = { start: server.start, engine: create };
      deliverySuite(env);
      resumeSuite(env);
      inboxSuite(env);
      signalsSuite(env);
      robustnessSuite(env);
      operationsSuite(env);
      membershipOrderSuite(env);
    });
  }
});
