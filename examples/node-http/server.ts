/**
 * Parley on a bare node:http server. Run: `pnpm --filter @parley/example-node-http start`,
 * then connect a Parley client to ws://localhost:3000/parley with the token `alice` or `bob`.
 */
import http from 'node:http';
import { createHub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';

// A toy directory: in a real app these come from your database.
const conversations: Record<string, string[]> = {
  general: ['alice', 'bob'],
  'alice-bob': ['alice', 'bob'],
};
const profiles: Record<string, { name: string }> = {
  alice: { name: 'Alice' },
  bob: { name: 'Bob' },
};

const hub = createHub({
  // Toy auth: the token is the user id. Use your real session/JWT check here.
  authenticate: ({ token }) =>
    token !== undefined && token in profiles ? { userId: token, profile: profiles[token] } : null,
  conversationsOf: (userId) =>
    Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
  membersOf: (conversationId) => conversations[conversationId] ?? [],
  onOfflineRecipients: ({ userIds, message }) => {
    console.log(`push to ${userIds.join(', ')}: ${message.text}`);
  },
});

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(hub.stats()));
    return;
  }
  res.statusCode = 404;
  res.end();
});
attachHub(hub, server, { path: '/parley' });

const port = Number(process.env.PORT ?? 3000);
server.listen(port, () => console.log(`parley on ws://localhost:${port}/parley`));

// Graceful shutdown: clients get `shutdown` + 1012 and reconnect elsewhere without loss.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await hub.close();
    server.close();
  });
}
