/**
 * The hub integration suite (suites/*) over `@parley/server-adapter/deno`, running under Deno
 * itself: the hub lives in a harness process (harness.ts beside this file), the test clients here.
 * Every portable test runs — send/ack, fan-out to many devices, resume, join/leave, backpressure
 * close, Origin refusal, graceful close and the rest; the few that need in-process hooks run
 * in-process only (see `inProcessIt` in utils/fixture.ts).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { deliverySuite } from '../../suites/delivery.js';
import { inboxSuite } from '../../suites/inbox.js';
import { operationsSuite } from '../../suites/operations.js';
import { resumeSuite } from '../../suites/resume.js';
import { robustnessSuite } from '../../suites/robustness.js';
import { signalsSuite } from '../../suites/signals.js';
import { useFixture } from '../../utils/fixture.js';
import { refusalTests } from '../refusals.js';
import { DENO } from '../remote.js';

describe('deno × memory', () => {
  const env = { remote: DENO };
  const setup = useFixture(env);
  const pinned = createRequire(import.meta.url)('deno/package.json').version as string;

  it("runs on the pinned Deno (deno devDependency), the app's routes next to the hub", async () => {
    const f = await setup();
    expect(await (await fetch(f.server.http)).text()).toBe(`deno ${pinned}`);
    const alice = await f.connect('alice');
    expect(alice.welcome.user.id).toBe('alice');
  });
  refusalTests(setup);
  deliverySuite(env);
  resumeSuite(env);
  inboxSuite(env);
  signalsSuite(env);
  robustnessSuite(env);
  operationsSuite(env);
});
