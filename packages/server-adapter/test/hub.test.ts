/**
 * The hub integration suite over every adapter × every engine (a matrix like graphql-ws's
 * tServers). A new engine joins by adding an entry to `engines`; a new adapter to `tServers`.
 */
import { describe } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { deliverySuite } from './suites/delivery.js';
import { inboxSuite } from './suites/inbox.js';
import { operationsSuite } from './suites/operations.js';
import { resumeSuite } from './suites/resume.js';
import { robustnessSuite } from './suites/robustness.js';
import { signalsSuite } from './suites/signals.js';
import type { EngineFactory } from './utils/fixture.js';
import { tServers } from './utils/servers.js';

const engines: { name: string; create: EngineFactory }[] = [
  {
    name: 'memory',
    create: ({ maxMessages }) =>
      createMemoryEngine(maxMessages === undefined ? {} : { history: { maxMessages } }),
  },
];

for (const server of tServers) {
  for (const engine of engines) {
    describe(`${server.name} × ${engine.name}`, () => {
      const env = { start: server.start, engine: engine.create };
      deliverySuite(env);
      resumeSuite(env);
      inboxSuite(env);
      signalsSuite(env);
      robustnessSuite(env);
      operationsSuite(env);
    });
  }
}
