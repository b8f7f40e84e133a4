/**
 * The suite's hubs served by `@parley/server-adapter/deno` under Deno itself: started by the
 * remote fixture (test/runtimes/remote.ts) as `deno run --conditions=@parley/source
 * --unstable-sloppy-imports harness.ts`, so the hub runs from its TypeScript sources.
 */
import { type DenoServeInfo, parleyDeno } from '../../../src/adapters/deno.js';
import { runHarness } from '../harness/host.js';

/** The part of Deno's global this harness uses (the package is typechecked without Deno's types). */
declare const Deno: {
  version: { deno: string };
  serve(
    options: { port: number; hostname: string; signal: AbortSignal; onListen(): void },
    handler: (request: Request, info: DenoServeInfo) => Response,
  ): { addr: { port: number }; finished: Promise<void> };
  stdin: { readable: ReadableStream<Uint8Array> };
};

await runHarness({
  name: 'deno',
  version: Deno.version.deno,
  serve: (hub) => {
    const parley = parleyDeno(hub, { path: '/parley' });
    const abort = new AbortController();
    const server = Deno.serve(
      { port: 0, hostname: '127.0.0.1', signal: abort.signal, onListen() {} },
      // Other paths: the app's own routes; here one that says who serves it.
      (request, info) => parley.fetch(request, info) ?? new Response(`deno ${Deno.version.deno}`),
    );
    return {
      port: server.addr.port,
      stop: async () => {
        abort.abort();
        await server.finished;
      },
    };
  },
  stdin: Deno.stdin.readable,
  write: (line) => console.log(line),
});
