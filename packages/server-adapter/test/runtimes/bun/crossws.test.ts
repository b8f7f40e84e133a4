/**
 * The hub integration suite over `@parley/server-adapter/crossws` through crossws's own Bun
 * adapter, under Bun (what h3, Nitro and Nuxt run on Bun). The same portable tests as
 * hub.test.ts beside this file; h3 on Node runs in-process (utils/servers.ts).
 */
import { describe } from 'vitest';
import { deliverySuite } from '../../suites/delivery.js';
import { inboxSuite } from '../../suites/inbox.js';
import { operationsSuite } from '../../suites/operations.js';
import { resumeSuite } from '../../suites/resume.js';
import { robustnessSuite } from '../../suites/robustness.js';
import { signalsSuite } from '../../suites/signals.js';
import { BUN_CROSSWS } from '../remote.js';

describe('bun (crossws) × memory', () => {
  const env = { remote: BUN_CROSSWS };
  deliverySuite(env);
  resumeSuite(env);
  inboxSuite(env);
  signalsSuite(env);
  robustnessSuite(env);
  operationsSuite(env);
});
