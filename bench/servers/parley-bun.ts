/**
 * System under test 4: the same hub (servers/parley-hub.ts) on Bun, the way a Bun app runs it:
 * `Bun.serve` with `@parley/server-adapter/bun` at `/parley`. Started by lib/procs.ts with the
 * pinned Bun (the root devDependency `bun`); it reports to the orchestrator over the same
 * process IPC as the Node servers (lib/server-host.ts).
 */
import { type BunServer, type BunWebSocketHandler, parleyBun } from '@parley/server-adapter/bun';
import { host, readConfig } from '../lib/server-host.js';
import { benchHub } from './parley-hub.js';

/** The part of Bun's global used here (the bench is typechecked without Bun's types). */
declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch(request: Request, server: BunServer): Response | undefined;
    websocket: BunWebSocketHandler;
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> };
};

const config = readConfig();
const { hub, engine } = benchHub(config);
const parley = parleyBun(hub, { path: '/parley' });
let server: ReturnType<typeof Bun.serve> | undefined;

await host(config, {
  listen: (port) => {
    server = Bun.serve({
      port,
      hostname: '127.0.0.1',
      fetch: (request, s) => parley.fetch(request, s) ?? new Response('not found', { status: 404 }),
      websocket: parley.websocket,
    });
    return Promise.resolve(server.port);
  },
  connections: () => hub.stats().connections,
  close: async () => {
    await hub.close();
    await engine?.close();
    await server?.stop(true);
  },
});
