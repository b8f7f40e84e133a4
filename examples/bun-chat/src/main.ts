/**
 * `pnpm --filter @parley/example-bun-chat start` (runs under Bun): the chat server on PORT
 * (default 3003). Tokens: alice-token, bob-token, carol-token.
 */
import { startChatServer } from './server.js';

const server = startChatServer({ port: Number(process.env.PORT ?? 3003) });
console.log(`bun-chat listening on ${server.url} (hub: ${server.wsUrl})`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
