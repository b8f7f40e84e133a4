/**
 * The hub integration suite (suites/*) over `@parley/server-adapter/bun`, running under Bun
 * itself: the hub lives in a harness process (harness.ts beside this file), the test clients here.
 * Every portable test runs — send/ack, fan-out to many devices, resume, join/leave, backpressure
 * close, Origin refusal, graceful close and the rest; the few that need in-process hooks run
 * in-process only (see `inProcessIt` in utils/fixture.ts).
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { deliverySuite } from '../../suites/delivery.js';
import { inboxSuite } from '../../suites/inbox.js';
import { operationsSuite } from '../../suites/operations.js';
import { resumeSuite } from '../../suites/resume.js';
import { robustnessSuite } from '../../suites/robustness.js';
import { signalsSuite } from '../../suites/signals.js';
import { is } from '../../utils/client.js';
import { useFixture } from '../../utils/fixture.js';
import { refusalTests } from '../refusals.js';
import { BUN } from '../remote.js';

describe('bun × memory', () => {
  const env = { remote: BUN };
  const setup = useFixture(env);
  const pinned = createRequire(import.meta.url)('bun/package.json').version as string;

  it("runs on the pinned Bun (bun devDependency), the app's routes next to the hub", async () => {
    const f = await setup();
    expect(await (await fetch(f.server.http)).text()).toBe(`bun ${pinned}`);
    const alice = await f.connect('alice');
    expect(alice.welcome.user.id).toBe('alice');
  });

  it("a frame Bun drops (send() === 0, past Bun's backpressureLimit) closes the socket 1013: no hole, the client resumes", async () => {
    // Bun gives up before the hub's byte budget does: Bun drops at 64 KiB, the budget is 32 MiB.
    const f = await setup({
      bunBackpressureLimit: 64 * 1024,
      backpressure: { softLimitBytes: 16 << 20, hardLimitBytes: 32 << 20 },
      limits: { maxReplay: 100_000 },
    });
    const bob = await f.connect('bob');
    await f.connect('alice');
    const socket = (bob.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause(); // bob stops reading
    const text = 'x'.repeat(9000);
    let sent = 0;
    while ((await f.stats()).connections === 2 && sent < 5000) {
      await f.server.hub.publish('c1', { text });
      sent++;
    }
    expect((await f.stats()).connections).toBe(1); // bob's socket was closed, not left with a hole
    socket.resume();
    const { code } = await bob.closed;
    expect([1013, 1006]).toContain(code); // 1006: the close frame itself did not fit
    const got = bob.frames.flatMap((x) => (x.type === 'message' ? [x.message.seq] : []));
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    const last = got.at(-1) ?? 0;
    expect(last).toBeLessThan(sent);
    const again = await f.connect('bob', { cursors: { c1: { seq: last } } });
    const replay = await again.next(is('replay'), 10_000);
    expect(replay.messages.map((m) => m.seq)).toEqual(
      Array.from({ length: sent - last }, (_, i) => last + i + 1),
    );
  });

  refusalTests(setup);
  deliverySuite(env);
  resumeSuite(env);
  inboxSuite(env);
  signalsSuite(env);
  robustnessSuite(env);
  operationsSuite(env);
});
