/**
 * The runtime-neutral half of a harness: reads requests (rpc.ts) from a byte stream, runs them
 * against hubs built from the suite's world (world.ts) and served by the runtime's adapter, and
 * writes the replies. The runtime half (bun/harness.ts, deno/harness.ts) only says how to serve
 * a hub and where stdin and stdout are.
 */
import { createMemoryEngine } from '../../../src/engines/memory/index.js';
import { createHub, type Hub } from '../../../src/hub/hub.js';
import {
  type Members,
  type RecordingLogger,
  recordingLogger,
  type TestEvents,
  worldHooks,
} from '../../utils/world.js';
import { HUB_METHODS, type Reply, type Request, type Started } from './rpc.js';

/** A hub being served on 127.0.0.1. */
export interface Served {
  port: number;
  /** Stops listening and drops every connection. */
  stop(): Promise<void>;
}

export interface Runtime {
  name: string;
  version: string;
  serve(hub: Hub<TestEvents>, options: { bunBackpressureLimit?: number }): Served | Promise<Served>;
  stdin: ReadableStream<Uint8Array>;
  write(line: string): void;
}

interface Instance {
  hub: Hub<TestEvents>;
  /** What `conversationsOf`/`membersOf` read; the test replaces it before it connects. */
  world: { members: Members };
  logger: RecordingLogger;
  served: Served;
  stopped: Promise<void> | undefined;
  dispose: () => Promise<void>;
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield line;
      nl = buffered.indexOf('\n');
    }
  }
}

/** Runs requests until stdin ends (the test process went away), then exits the hub processes. */
export async function runHarness(runtime: Runtime): Promise<void> {
  const instances = new Map<number, Instance>();
  let next = 1;
  const reply = (r: Reply) => runtime.write(JSON.stringify(r));
  const instance = (n: number): Instance => {
    const i = instances.get(n);
    if (!i) throw new Error(`no fixture ${n}`);
    return i;
  };
  const stopServer = (i: Instance) => {
    i.stopped ??= i.served.stop();
    return i.stopped;
  };

  async function run(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'start': {
        const { maxMessages, bunBackpressureLimit, ...overrides } = req.overrides;
        const engine = createMemoryEngine(
          maxMessages === undefined ? {} : { history: { maxMessages } },
        );
        const logger = recordingLogger();
        const world = { members: req.members };
        const hub = createHub<TestEvents>({
          ...worldHooks(() => world.members),
          engine,
          logger,
          ...overrides,
        });
        const served = await runtime.serve(
          hub,
          bunBackpressureLimit === undefined ? {} : { bunBackpressureLimit },
        );
        const fixture = next++;
        const i: Instance = {
          hub,
          world,
          logger,
          served,
          stopped: undefined,
          dispose: async () => {
            await hub.close();
            await stopServer(i);
            await engine.close();
          },
        };
        instances.set(fixture, i);
        return { fixture, port: served.port } satisfies Started;
      }
      case 'members':
        instance(req.fixture).world.members = req.members;
        return undefined;
      case 'hub': {
        if (!HUB_METHODS.includes(req.method)) throw new Error(`not a hub method: ${req.method}`);
        const hub = instance(req.fixture).hub as unknown as Record<
          string,
          (...a: unknown[]) => Promise<unknown>
        >;
        return await hub[req.method]!(...req.args);
      }
      case 'stats':
        return instance(req.fixture).hub.stats();
      case 'waitLog':
        return await instance(req.fixture).logger.waitFor(req.msg);
      case 'stopServer':
        await stopServer(instance(req.fixture));
        return undefined;
      case 'dispose': {
        // Idempotent, like the in-process `server.dispose()`.
        const i = instances.get(req.fixture);
        instances.delete(req.fixture);
        await i?.dispose();
        return undefined;
      }
    }
  }

  runtime.write(JSON.stringify({ ready: true, runtime: runtime.name, version: runtime.version }));
  for await (const line of lines(runtime.stdin)) {
    const req = JSON.parse(line) as Request;
    // Concurrently: a `waitLog` must not hold up the publishes that lead to the line it waits for.
    run(req).then(
      (result) => reply({ id: req.id, ok: true, result }),
      (err: unknown) =>
        reply({
          id: req.id,
          ok: false,
          error: {
            name: err instanceof Error ? err.name : 'Error',
            message: err instanceof Error ? err.message : String(err),
          },
        }),
    );
  }
  for (const i of instances.values()) await i.dispose().catch(() => undefined);
}
