/**
 * The hub integration suite, unchanged, over the Redis engine (on the shared Redis, with a fresh
 * key prefix per engine so every test starts from an empty store, like the memory engine).
 */
import { afterAll, describe } from 'vitest';
import { createRedisEngine } from '../src/engines/redis/index.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';
import { deliverySuite } from './suites/delivery.js';
import { inboxSuite } from './suites/inbox.js';
import { operationsSuite } from './suites/operations.js';
import { resumeSuite } from './suites/resume.js';
import { robustnessSuite } from './suites/robustness.js';
import { signalsSuite } from './suites/signals.js';
import type { EngineFactory } from './utils/fixture.js';
import { tServers } from './utils/servers.js';

const available = await requireRedis('hub suite over the redis engine');

describe.skipIf(!available)('hub suite × redis engine', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(p);
  });
  const create: EngineFactory = ({ maxMessages }) => {
    const keyPrefix = uniquePrefix();
    prefixes.push(keyPrefix);
    return createRedisEngine({
      redis: REDIS_URL,
      keyPrefix,
      ...(maxMessages === undefined ? {} : { history: { maxMessages } }),
    });
  };
  for (const server of tServers) {
    describe(`${server.name} × redis`, () => {
      const env = { start: server.start, engine: create };
      deliverySuite(env);
      resumeSuite(env);
      inboxSuite(env);
      signalsSuite(env);
      robustnessSuite(env);
      operationsSuite(env);
    });
  }
});
