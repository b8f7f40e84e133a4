/**
 * The hub model (issue 13, `utils/hub-model.ts` states its invariants) on one hub with the memory
 * engine (node:http on 127.0.0.1). `redis/model.test.ts` runs it on two hubs sharing Redis.
 *
 * Fixed seeds run in CI; a failure prints fast-check's seed and path. PARLEY_MODEL_SEED=<n> runs
 * one more seed locally.
 */
import { describe, it } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { checkHubModel, type Topology } from './utils/hub-model.js';
import { tServers } from './utils/servers.js';

const oneHub: Topology = {
  hubs: 1,
  async start(hooks) {
    const engine = createMemoryEngine();
    const server = await tServers[0]!.start({ ...hooks, engine });
    return { servers: [server], engines: [engine], dispose: () => server.dispose() };
  },
};

const SEEDS = [1, 42, 1337, 20260101];
const extra = Number(process.env.PARLEY_MODEL_SEED);
const seeds = Number.isFinite(extra) && process.env.PARLEY_MODEL_SEED ? [...SEEDS, extra] : SEEDS;

describe('hub model: membership, delivery and bans under random interleavings', () => {
  for (const seed of seeds) {
    it(`seed ${seed}`, () => checkHubModel(oneHub, seed, 15), 120_000);
  }
});
