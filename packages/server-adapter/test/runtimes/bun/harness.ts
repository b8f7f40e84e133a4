/**
 * The suite's hubs served under Bun itself, by `@parley/server-adapter/bun` or (with
 * `PARLEY_ADAPTER=crossws`) by `@parley/server-adapter/crossws` through crossws's Bun adapter.
 * Started by the remote fixture (test/runtimes/remote.ts) as `bun --conditions=@parley/source
 * harness.ts`, so the hub runs from its TypeScript sources.
 */
import crossws from 'crossws/adapters/bun';
import { type BunServer, type BunWebSocketHandler, parleyBun } from '../../../src/adapters/bun.js';
import { parleyHooks } from '../../../src/adapters/crossws.js';
import type { Hub } from '../../../src/hub/hub.js';
import type { TestEvents } from '../../utils/world.js';
import { runHarness, type Served } from '../harness/host.js';

/** The part of Bun's global this harness uses (the package is typechecked without Bun's types). */
declare const Bun: {
  version: string;
  serve(options: {
    port: number;
    hostname: string;
    fetch(
      request: Request,
      server: BunServer,
    ): Response | undefined | Promise<Response | undefined>;
    websocket:
      | (BunWebSocketHandler & { backpressureLimit?: number })
      | ReturnType<typeof crossws>['websocket'];
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> };
  stdin: { stream(): ReadableStream<Uint8Array> };
};

/** Other paths: the app's own routes; here one that says who serves it. */
const appRoute = () => new Response(`bun ${Bun.version}`);

function serveBun(hub: Hub<TestEvents>, options: { bunBackpressureLimit?: number }): Served {
  const parley = parleyBun(hub, { path: '/parley' });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, s) => parley.fetch(request, s) ?? appRoute(),
    websocket:
      options.bunBackpressureLimit === undefined
        ? parley.websocket
        : { ...parley.websocket, backpressureLimit: options.bunBackpressureLimit },
  });
  return { port: server.port, stop: () => server.stop(true) };
}

function serveCrossws(hub: Hub<TestEvents>): Served {
  const ws = crossws({ hooks: parleyHooks(hub) });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, s) =>
      new URL(request.url).pathname === '/parley'
        ? ws.handleUpgrade(request, s as never)
        : appRoute(),
    websocket: ws.websocket,
  });
  return { port: server.port, stop: () => server.stop(true) };
}

await runHarness({
  name: 'bun',
  version: Bun.version,
  serve: process.env.PARLEY_ADAPTER === 'crossws' ? serveCrossws : serveBun,
  stdin: Bun.stdin.stream(),
  write: (line) => console.log(line),
});
