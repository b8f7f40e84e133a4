/** `pnpm --filter @parley/example-nest start`: the Nest app on PORT (default 3004). */
import { createApp } from './app.js';

const app = await createApp();
await app.listen(Number(process.env.PORT ?? 3004), '127.0.0.1');
console.log(
  `nest app on ${await app.getUrl()} (hub: ws://…/parley; tokens alice-token, bob-token)`,
);
