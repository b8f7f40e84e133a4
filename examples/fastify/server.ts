/**
 * Parley as a Fastify plugin next to REST routes protected by the app's cookie auth.
 * Run: `pnpm --filter @parley/example-fastify start`.
 */
import { createHub } from '@parley/server-adapter';
import { parleyFastify } from '@parley/server-adapter/fastify';
import Fastify from 'fastify';

const sessions = new Map<string, string>([
  ['s-alice', 'alice'],
  ['s-bob', 'bob'],
]);
const conversations: Record<string, string[]> = { general: ['alice', 'bob'] };

function cookie(header: string | undefined, name: string): string | undefined {
  return header
    ?.split(';')
    .map((p) => p.trim().split('='))
    .find(([k]) => k === name)?.[1];
}

const hub = createHub({
  // The browser sends the `sid` cookie with the upgrade request: no token in `hello` needed.
  authenticate: ({ token, request }) => {
    const userId = sessions.get(token ?? request.cookies.sid ?? '');
    return userId === undefined ? null : { userId, profile: { name: userId } };
  },
  conversationsOf: (userId) =>
    Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
  membersOf: (c) => conversations[c] ?? [],
});

const app = Fastify({ logger: true });

app.post<{ Body: { user: string } }>('/login', async (req, reply) => {
  const sid = `s-${req.body.user}`;
  if (!sessions.has(sid)) return reply.code(401).send({ error: 'unknown user' });
  reply.header('set-cookie', `sid=${sid}; HttpOnly; SameSite=Lax; Path=/`);
  return { ok: true };
});

app.post<{ Params: { id: string }; Body: { text: string } }>(
  '/conversations/:id/system',
  async (req, reply) => {
    const userId = sessions.get(cookie(req.headers.cookie, 'sid') ?? '');
    if (userId === undefined) return reply.code(401).send({ error: 'unauthenticated' });
    if (!conversations[req.params.id]?.includes(userId))
      return reply.code(403).send({ error: 'forbidden' });
    return hub.publish(req.params.id, { text: req.body.text });
  },
);

app.get('/stats', async () => hub.stats());

// Registers @fastify/websocket (unless already registered) and GET /parley. `app.close()` also
// closes the hub gracefully (shutdown frame + 1012).
await app.register(parleyFastify, { hub, path: '/parley' });
await app.listen({ port: Number(process.env.PORT ?? 3000) });

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
