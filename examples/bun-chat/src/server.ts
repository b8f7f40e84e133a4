/**
 * The Bun chat server, ported to Parley: `Bun.serve` with the hub at `/parley` (the
 * `@parley/server-adapter/bun` adapter) next to the app's own HTTP routes.
 *
 * What the hand-written server did by hand, and where it went (README.md has the whole story):
 * - `join` frames that subscribed the socket to a conversation → the hub subscribes every socket
 *   to all of the user's conversations (`conversationsOf`) at connect, so a receiver who never
 *   opened a chat still gets its messages; adding a member is a server-side `hub.join`;
 * - `chat` frames broadcast with `server.publish` → `send`: membership-checked, stored with a seq,
 *   acked, fanned out to every socket of every member, replayed after a reconnect;
 * - `offer`/`answer`/`ice` relayed to one socket by user id → typed custom events to a user
 *   (every socket of theirs), validated with the same zod schemas on both ends;
 * - the user id from the query string → `authenticate`, from the token or the session cookie.
 */
import { createHub, type Hub } from '@parley/server-adapter';
import { parleyBun } from '@parley/server-adapter/bun';
import { createDirectory } from './directory.js';
import { type CallEvents, callEvents } from './events.js';

export interface ChatServer {
  /** `http://host:port` */
  url: string;
  /** `ws://host:port/parley` */
  wsUrl: string;
  hub: Hub<CallEvents>;
  close(): Promise<void>;
}

export function startChatServer(options: { port?: number; hostname?: string } = {}): ChatServer {
  const directory = createDirectory();
  const hub = createHub({
    events: callEvents,
    // The token from the client's `hello`, or the `session` cookie of the upgrade request.
    authenticate: ({ token, request }) => {
      const userId = directory.userOf(token ?? request.cookies.session ?? '');
      return userId === undefined ? null : { userId, profile: { name: userId } };
    },
    conversationsOf: (userId) => directory.conversationsOf(userId),
    membersOf: (conversationId) => directory.membersOf(conversationId),
  });
  const parley = parleyBun(hub, { path: '/parley' });

  /** The app's own routes: adding a member is a database write plus `hub.join`. */
  async function api(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const join = /^\/api\/conversations\/([\w-]+)\/members$/.exec(url.pathname);
    if (join && request.method === 'POST') {
      const conversationId = join[1]!;
      const caller = directory.userOf(
        request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '',
      );
      if (caller === undefined) return new Response('unauthenticated', { status: 401 });
      if (!directory.membersOf(conversationId).includes(caller)) {
        return new Response('forbidden', { status: 403 });
      }
      const { userId } = (await request.json()) as { userId: string };
      directory.addMember(conversationId, userId);
      // Every socket of the user gets `joined` and everything published after it, live.
      await hub.join(conversationId, [userId]);
      return Response.json({ conversationId, members: directory.membersOf(conversationId) });
    }
    if (url.pathname === '/health')
      return Response.json({ ok: true, runtime: `bun ${Bun.version}` });
    return new Response('not found', { status: 404 });
  }

  const server = Bun.serve({
    port: options.port ?? 3003,
    hostname: options.hostname ?? '127.0.0.1',
    fetch: (request, s) => parley.fetch(request, s) ?? api(request),
    websocket: parley.websocket,
  });
  const base = `${server.hostname}:${server.port}`;
  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}/parley`,
    hub,
    async close() {
      await hub.close(); // shutdown frames + 1012: clients reconnect elsewhere and resume
      await server.stop(true);
    },
  };
}
