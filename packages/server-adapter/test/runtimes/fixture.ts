/**
 * The suite's fixture (utils/fixture.ts) over a runtime harness: the same `Fixture` — server URL,
 * hub, members, `connect`, `stats`, `logger.waitFor` — with the hub living in a Bun or Deno
 * process. Hub calls, membership changes and log waits are requests to the harness; clients
 * connect from this process over real sockets, as they do in-process.
 */
import { afterAll } from 'vitest';
import type { Engine } from '../../src/engines/types.js';
import type { Hub, HubStats } from '../../src/hub/hub.js';
import { type ConnectOptions, TestClient } from '../utils/client.js';
import type { Fixture } from '../utils/fixture.js';
import {
  initialMembers,
  nonPortableKeys,
  type PortableOverrides,
  type RecordingLogger,
  type TestEvents,
} from '../utils/world.js';
import { HUB_METHODS, type HubMethod, type Started } from './harness/rpc.js';
import { RemoteRuntime, type RuntimeSpec } from './remote.js';

/** A stand-in for what only exists in-process: any use says so. */
function inProcessOnly<T extends object>(what: string, spec: RuntimeSpec): T {
  return new Proxy({} as T, {
    get(_, prop) {
      throw new Error(
        `${what}.${String(prop)} is not available on ${spec.name}: register the test with inProcessIt`,
      );
    },
  });
}

/**
 * Returns the remote `setup` for the current describe block: one harness process for the block
 * (started on first use, ended after it), one hub on a fresh port per test.
 */
export function remoteFixture(
  spec: RuntimeSpec,
): (overrides: PortableOverrides, disposers: (() => Promise<void>)[]) => Promise<Fixture> {
  let runtime: Promise<RemoteRuntime> | undefined;
  afterAll(async () => {
    if (runtime) await (await runtime.catch(() => undefined))?.close();
  });

  return async (overrides, disposers) => {
    const bad = nonPortableKeys(overrides);
    if (bad.length > 0) {
      throw new Error(
        `${bad.join(', ')} cannot reach a hub on ${spec.name}: register the test with inProcessIt`,
      );
    }
    runtime ??= RemoteRuntime.start(spec);
    const rt = await runtime;
    const members = initialMembers();
    const { fixture, port } = await rt.call<Started>({ op: 'start', overrides, members });

    let sent = JSON.stringify(members);
    /** Hands the test's membership changes to the harness before anything that reads them. */
    const syncMembers = async () => {
      const now = JSON.stringify(members);
      if (now === sent) return;
      sent = now;
      await rt.call({ op: 'members', fixture, members });
    };
    const call = async (method: HubMethod, args: unknown[]) => {
      await syncMembers();
      return rt.call({ op: 'hub', fixture, method, args });
    };

    const hub = inProcessOnly<Record<string, unknown>>('hub', spec);
    const methods = Object.fromEntries(
      HUB_METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)]),
    );
    const remoteHub = new Proxy(methods, {
      get: (target, prop) =>
        prop in target
          ? target[prop as string]
          : prop === Symbol.asyncDispose
            ? () => call('close', [])
            : hub[prop as string],
    }) as unknown as Hub<TestEvents>;

    const remoteLogger = new Proxy(inProcessOnly<RecordingLogger>('logger', spec), {
      get: (target, prop) =>
        prop === 'waitFor'
          ? (msg: string) => rt.call<object>({ op: 'waitLog', fixture, msg }, null)
          : Reflect.get(target, prop),
    });

    const clients: TestClient[] = [];
    const base = `127.0.0.1:${port}`;
    disposers.push(async () => {
      for (const c of clients) c.terminate();
      await rt.call({ op: 'dispose', fixture });
    });
    return {
      server: {
        url: `ws://${base}/parley`,
        http: `http://${base}`,
        hub: remoteHub,
        dispose: () => rt.call({ op: 'dispose', fixture }),
        serverClosed: () => rt.call({ op: 'stopServer', fixture }),
      },
      engine: inProcessOnly<Engine>('engine', spec),
      members,
      logger: remoteLogger,
      stats: () => rt.call<HubStats>({ op: 'stats', fixture }),
      async connect(userId: string, options: ConnectOptions = {}) {
        await syncMembers();
        const c = await TestClient.connect(`ws://${base}/parley`, { token: userId, ...options });
        clients.push(c);
        return c;
      },
    };
  };
}
