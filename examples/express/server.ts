/**
 * Parley next to an Express REST API that uses its own bearer-token auth. The same tokens
 * authenticate the WebSocket (in `hello`, or from the `session` cookie set by POST /login).
 * Run: `pnpm --filter @parley/example-express start`.
 */
import http from 'node:http';
import { createHub, type RequestInfo } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import express from 'express';

const sessions = new Map<string, string>([
  ['token-alice', 'alice'],
  ['token-bob', 'bob'],
]);
const conversations: Record<string, string[]> = { general: ['alice', 'bob'] };

/** The app's one auth function, used by REST and by the hub. */
function userFromToken(token: string | undefined): string | undefined {
  return token === undefined ? undefined : sessions.get(token);
}

const hub = createHub({
  authenticate: ({ token, request }: { token: string | undefined; request: RequestInfo }) => {
    const userId = userFromToken(token ?? request.cookies.session);
    return userId === undefined ? null : { userId, profile: { name: userId } };
  },
  conversationsOf: (userId) =>
    Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
  membersOf: (c) => conversations[c] ?? [],
  origins: ['http://localhost:5173', 'http://localhost:3000'],
});

const app = express();
app.use(express.json());

app.post('/login', (req, res) => {
  const token = `token-${String(req.body?.user ?? '')}`;
  if (!sessions.has(token)) {
    res.status(401).json({ error: 'unknown user' });
    return;
  }
  res.cookie('session', token, { httpOnly: true, sameSite: 'lax' }).json({ token });
});

const requireUser: express.RequestHandler = (req, res, next) => {
  const userId = userFromToken(req.headers.authorization?.replace(/^Bearer /, ''));
  if (userId === undefined) {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  res.locals.userId = userId;
  next();
};

// A REST route that posts through the hub (e.g. from a form or a webhook).
app.post('/conversations/:id/announce', requireUser, async (req, res) => {
  const id = String(req.params.id);
  if (!conversations[id]?.includes(res.locals.userId as string)) {
    res.status(403).json({ error: 'forbidden' });
    return;
  }
  const message = await hub.publish(id, {
    text: String(req.body?.text ?? ''),
    senderId: 'announcer',
  });
  res.status(201).json(message);
});

app.post('/conversations/:id/members', requireUser, async (req, res) => {
  const id = String(req.params.id);
  const userId = String(req.body?.userId ?? '');
  conversations[id] = [...new Set([...(conversations[id] ?? []), userId])];
  await hub.join(id, [userId]); // connected sockets of userId start receiving at once
  res.status(204).end();
});

app.get('/stats', (_req, res) => {
  res.json(hub.stats());
});

const server = http.createServer(app);
attachHub(hub, server, { path: '/parley' });
const port = Number(process.env.PORT ?? 3000);
server.listen(port, () => console.log(`http://localhost:${port} (WebSocket at /parley)`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await hub.close();
    server.close();
  });
}
