/**
 * `pnpm demo` (= `pnpm --filter @parley/example-chat start`): starts the demo and prints its URL.
 * PORT (default 3000; 0 = any free port) and HOST (default 127.0.0.1) can be set.
 *
 * The token secret survives restarts (examples/chat/.data/dev-secret, created on first start;
 * PARLEY_DEMO_SECRET_FILE points elsewhere, PARLEY_DEMO_SECRET sets it outright), so a restart
 * keeps everyone signed in. The history does not: it lives in memory, and open pages show a
 * "history reset" notice in each conversation.
 */
import { fileURLToPath } from 'node:url';
import { devSecret } from './dev-secret.js';
import { startChatServer } from './server.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const secretFile =
  process.env.PARLEY_DEMO_SECRET_FILE ??
  fileURLToPath(new URL('../.data/dev-secret', import.meta.url));
const secret = process.env.PARLEY_DEMO_SECRET || (await devSecret(secretFile));

const server = await startChatServer({ port, host, secret }).catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`Port ${port} is in use. Try: PORT=0 npx pnpm@9.15.9 demo`);
    process.exit(1);
  }
  throw err;
});
const shown = host === '127.0.0.1' ? server.url.replace('127.0.0.1', 'localhost') : server.url;
console.log(`\n  Parley demo chat is running:\n\n    ${shown}\n`);
console.log('  Open it in two browser windows (one private) and sign in as two different users.');
console.log('  Press Ctrl+C to stop.\n');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
