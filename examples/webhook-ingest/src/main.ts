/**
 * `pnpm --filter @parley/example-webhook-ingest start`: starts the server and prints a signed curl
 * command that posts a deploy notification into the `deploys` conversation.
 */
import { randomUUID } from 'node:crypto';
import { sign, startWebhookServer } from './server.js';

const webhookSecret = process.env.WEBHOOK_SECRET ?? 'dev-webhook-secret';
const server = await startWebhookServer({
  port: Number(process.env.PORT ?? 3001),
  webhookSecret,
  onOffline: ({ userIds, message }) =>
    console.log(`(would push to ${userIds.join(', ')}: ${message.text})`),
});

const body = JSON.stringify({
  deliveryId: randomUUID(),
  service: 'api',
  environment: 'production',
  status: 'succeeded',
  commit: 'a1b2c3d4e5f6',
});
console.log(
  `webhook-ingest on ${server.url} (Parley at ${server.url.replace('http', 'ws')}/parley)`,
);
console.log('Connect a Parley client with the token "alice-token" or "bob-token", then post:\n');
console.log(
  `curl -X POST ${server.url}/webhooks/deploy -H 'content-type: application/json' \\\n  -H 'x-signature: ${sign(webhookSecret, body)}' \\\n  -d '${body}'\n`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
