/**
 * Issue 13's edges (`suites/edges.ts`) over the memory and the Redis engine, on the node:http
 * adapter (the defects are in the core and the engines, not in the adapters).
 */
import { afterAll, describe } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { createRedisEngine } from '../src/engines/redis/index.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';
import { edgesSuite } from './suites/edges.js';
import { membershipOrderSuite } from './suites/membership-order.js';
import { tServers } from './utils/servers.js';

const start = tServers[0]!.start;

describe('memory', () => {
  const env = {
    start,
    engine: ({ maxMessages }: { maxMessages?: number }) =>
      createMemoryEngine(maxMessages === undefined ? {} : { history: { maxMessages } }),
  };
  edgesSuite(env);
  membershipOrderSuite(env);
});

const available = await requireRedis('issue 13 edges over the redis engine');

describe.skipIf(!available)('redis', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(p);
  });
  const env = {
    start,
    engine: ({ maxMessages }: { maxMessages?: number }) => {
      const keyPrefix = uniquePrefix();
      prefixes.push(keyPrefix);
      return createRedisEngine({
        redis: REDIS_URL,
        keyPrefix,
        ...(maxMessages === undefined ? {} : { history: { maxMessages } }),
      });
    },
  };
  edgesSuite(env);
  membershipOrderSuite(env);
});
