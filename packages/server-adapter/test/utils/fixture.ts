/**
 * Per-test fixture for the hub suite: a "world" of users and conversations (world.ts), a server
 * started through the adapter under test with the engine under test, and clients that are all
 * cleaned up.
 *
 * Two kinds of environment run the same suites:
 * - in-process (`{ start, engine }`): node:http, Express, Fastify × the memory and Redis engines;
 * - remote (`{ remote }`): the Bun and Deno adapters under Bun and Deno themselves, in a harness
 *   process (test/runtimes/). Only plain-data overrides cross the process boundary; tests that
 *   need in-process hooks (a wrapped engine, app hooks holding test state, the recorded log
 *   lines) are registered with {@link inProcessIt} and run in-process only.
 */
import { it } from 'vitest';
import type { Engine } from '../../src/engines/types.js';
import type { HubStats } from '../../src/hub/hub.js';
import type { HubOptions } from '../../src/hub/options.js';
import { remoteFixture } from '../runtimes/fixture.js';
import type { RuntimeSpec } from '../runtimes/remote.js';
import { type ConnectOptions, TestClient } from './client.js';
import { afterEachDispose } from './dispose.js';
import type { StartServer, TServer } from './servers.js';
import {
  initialMembers,
  type Members,
  type PortableOverrides,
  type RecordingLogger,
  recordingLogger,
  type TestEvents,
  worldHooks,
} from './world.js';

export {
  type PortableOverrides,
  type RecordingLogger,
  recordingLogger,
  type TestEvents,
  testEvents,
} from './world.js';

/** Options an engine factory must honour in the suite. */
export interface EngineTestOptions {
  /** History kept per conversation. */
  maxMessages?: number;
}
export type EngineFactory = (options: EngineTestOptions) => Engine | Promise<Engine>;

/** An adapter and an engine in this process. */
export interface LocalEnv {
  start: StartServer;
  engine: EngineFactory;
  remote?: undefined;
}

/** A runtime harness in another process (test/runtimes/): its adapter, the memory engine. */
export interface RemoteEnv {
  remote: RuntimeSpec;
}

export type SuiteEnv = LocalEnv | RemoteEnv;

export interface Fixture {
  server: TServer<TestEvents>;
  /** The engine (in-process only). */
  engine: Engine;
  /** conversationId -> member ids; mutate to change `conversationsOf` for later connections. */
  members: Members;
  connect(userId: string, options?: ConnectOptions): Promise<TestClient>;
  /** `hub.stats()`, also across a process boundary. */
  stats(): Promise<HubStats>;
  /** Records the hub's log; `lines` in-process only, `waitFor` everywhere. */
  logger: RecordingLogger;
}

export type SetupOverrides = Partial<HubOptions<TestEvents>> & {
  maxMessages?: number;
  /** Wraps the engine under test (to interleave work with the hub's calls). */
  wrapEngine?: (engine: Engine) => Engine;
  /** Bun's `backpressureLimit` (the Bun harness only). */
  bunBackpressureLimit?: number;
};

/**
 * `it`, for a test that needs in-process hooks: registered for in-process environments only
 * (on a remote runtime the test does not exist, rather than failing or being skipped).
 */
export function inProcessIt(
  env: SuiteEnv,
): (name: string, fn: () => Promise<void>, timeout?: number) => void {
  return env.remote === undefined ? (name, fn, timeout) => it(name, fn, timeout) : () => {};
}

/**
 * Returns `setup(overrides)` for the current describe block; everything it creates is disposed
 * of after each test. Tokens are `user` or `user@expiresAtMs`; the cookie `session` works too.
 */
export function useFixture(env: SuiteEnv): (overrides?: SetupOverrides) => Promise<Fixture> {
  const disposers = afterEachDispose();
  if (env.remote !== undefined) {
    const remote = remoteFixture(env.remote);
    return (overrides = {}) => remote(overrides as PortableOverrides, disposers);
  }
  return async (overrides = {}) => {
    const members = initialMembers();
    const { maxMessages, wrapEngine, bunBackpressureLimit, ...hubOverrides } = overrides;
    if (bunBackpressureLimit !== undefined) throw new Error('bunBackpressureLimit: Bun only');
    const inner = await env.engine({ ...(maxMessages === undefined ? {} : { maxMessages }) });
    const engine = wrapEngine ? wrapEngine(inner) : inner;
    const logger = recordingLogger();
    const server = await env.start<TestEvents>({
      ...worldHooks(() => members),
      engine,
      logger,
      ...hubOverrides,
    });
    const clients: TestClient[] = [];
    disposers.push(async () => {
      for (const c of clients) c.terminate();
      await server.dispose();
      await engine.close();
    });
    return {
      server,
      engine,
      members,
      logger,
      stats: async () => server.hub.stats(),
      async connect(userId, options = {}) {
        const c = await TestClient.connect(server.url, { token: userId, ...options });
        clients.push(c);
        return c;
      },
    };
  };
}
