/**
 * The engine conformance suite over the Redis engine on a Redis Cluster (3 primaries + 3
 * replicas, `scripts/redis-cluster.sh`): hash-tagged keys, sharded pub/sub. A fresh key prefix
 * per engine so that every test starts from an empty store.
 */
import { afterAll, describe } from 'vitest';
import { createRedisEngine } from '../src/engines/redis/index.js';
import { type ContractOptions, runEngineContract } from './engine-contract.js';
import { runInboxContract } from './engine-contract-inbox.js';
import { runOperationContract } from './engine-operations.js';
import { clusterNodes, deleteClusterKeys, requireRedisCluster } from './redis/cluster-helpers.js';
import { uniquePrefix } from './redis/helpers.js';

const available = await requireRedisCluster('engine contract over redis cluster');

describe.skipIf(!available)('redis engine on redis cluster', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteClusterKeys(p);
  });
  const factory = (options: ContractOptions) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({ ...options, redis: clusterNodes(), keyPrefix });
  };
  runEngineContract('redis cluster', factory);
  runInboxContract('redis cluster', factory);
  runOperationContract('redis cluster', factory);
});
