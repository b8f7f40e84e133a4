/**
 * A Next.js custom server with Parley: Next handles every request, the hub takes the WebSocket
 * upgrades for `/parley` on the same `http.Server` (`attachHub`). In development Next adds its own
 * `upgrade` listener (hot reload) on the first request; the two coexist: the node adapter takes
 * only its path, and answers nothing else.
 *
 * `pnpm --filter @parley/example-next start` (PORT=3005; NODE_ENV=production after `next build
 * web` for a production server). Tokens: alice-token, bob-token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHub, type Hub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import next from 'next';

const tokens = new Map([
  ['alice-token', 'alice'],
  ['bob-token', 'bob'],
]);
const conversations: Record<string, string[]> = { general: ['alice', 'bob'] };

export interface NextServer {
  url: string;
  wsUrl: string;
  hub: Hub;
  close(): Promise<void>;
}

export async function startNextServer(
  options: { port?: number; dev?: boolean } = {},
): Promise<NextServer> {
  const dev = options.dev ?? process.env.NODE_ENV !== 'production';
  const app = next({ dev, dir: join(dirname(fileURLToPath(import.meta.url)), 'web') });
  const handle = app.getRequestHandler();
  await app.prepare();

  const hub = createHub({
    authenticate: ({ token, request }) => {
      // Next's auth cookie or a token from the client: whichever your app uses.
      const userId = tokens.get(token ?? request.cookies.session ?? '');
      return userId === undefined ? null : { userId, profile: { name: userId } };
    },
    conversationsOf: (userId) =>
      Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
    membersOf: (conversationId) => conversations[conversationId] ?? [],
  });
  const server = http.createServer((req, res) => void handle(req, res));
  attachHub(hub, server, { path: '/parley' });
  await new Promise<void>((resolve) => server.listen(options.port ?? 3005, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/parley`,
    hub,
    async close() {
      await hub.close(); // before the server: sockets get shutdown + 1012 and resume elsewhere
      await app.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startNextServer({ port: Number(process.env.PORT ?? 3005) });
  console.log(`next app on ${s.url} (hub: ${s.wsUrl})`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void s.close().then(() => process.exit(0)));
  }
}
