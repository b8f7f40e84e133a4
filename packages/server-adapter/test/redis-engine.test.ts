/**
 * The engine conformance suite over the Redis engine (shared Redis, a fresh key prefix per
 * engine so that every test starts from an empty store). Redis-specific behaviour is covered in
 * `test/redis/*.test.ts`.
 */
import { afterAll, describe } from 'vitest';
import { createRedisEngine } from '../src/engines/redis/index.js';
import { runEngineContract } from './engine-contract.js';
import { runInboxContract } from './engine-contract-inbox.js';
import { runOperationContract } from './engine-operations.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';

const available = await requireRedis('engine contract over redis');

describe.skipIf(!available)('redis engine', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(p);
  });
  runEngineContract('redis', (options) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({ ...options, redis: REDIS_URL, keyPrefix });
  });
  runInboxContract('redis', (options) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({ ...options, redis: REDIS_URL, keyPrefix });
  });
  runOperationContract('redis', (options) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({ ...options, redis: REDIS_URL, keyPrefix });
  });
});
