/**
 * A webhook endpoint that turns third-party events (here: deploy notifications from a CI system)
 * into messages of a Parley conversation with `hub.publish`. Members who are connected see them
 * live; members who are offline get them on their next connect (resume by seq), and the app hears
 * about them through `onOfflineRecipients` (push / e-mail).
 *
 * - The request is authenticated with an HMAC signature of the raw body (`x-signature: sha256=…`),
 *   like GitHub / Stripe webhooks.
 * - The delivery id becomes the message's `clientMsgId`, so a redelivered webhook is stored once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createHub,
  type Engine,
  type Hub,
  HubUsageError,
  type OfflineRecipients,
} from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';

/** The conversation deploy notifications go to, and its members. */
export const DEPLOYS = 'deploys';
const conversations: Record<string, string[]> = { [DEPLOYS]: ['alice', 'bob'] };

/** Demo API tokens of the chat users (a real app verifies its own sessions / JWTs here). */
const apiTokens = new Map([
  ['alice-token', 'alice'],
  ['bob-token', 'bob'],
]);

export interface DeployEvent {
  /** Unique per delivery attempt group: redeliveries reuse it. */
  deliveryId: string;
  service: string;
  environment: string;
  status: 'succeeded' | 'failed';
  commit: string;
  url?: string;
}

export interface WebhookServerOptions {
  port?: number;
  host?: string;
  /** Shared secret the webhook sender signs with. */
  webhookSecret: string;
  engine?: Engine;
  /** Called with members that had no live socket when a message was stored. */
  onOffline?: (input: OfflineRecipients) => void;
}

export interface WebhookServer {
  url: string;
  hub: Hub;
  close(): Promise<void>;
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function verified(secret: string, body: string, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const want = Buffer.from(sign(secret, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

function isDeployEvent(v: unknown): v is DeployEvent {
  const e = v as Partial<DeployEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.deliveryId === 'string' &&
    e.deliveryId.length > 0 &&
    e.deliveryId.length <= 128 &&
    typeof e.service === 'string' &&
    typeof e.environment === 'string' &&
    (e.status === 'succeeded' || e.status === 'failed') &&
    typeof e.commit === 'string' &&
    (e.url === undefined || typeof e.url === 'string')
  );
}

async function rawBody(req: IncomingMessage, max = 65_536): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const hub = createHub({
    authenticate: ({ token }) => {
      const userId = token === undefined ? undefined : apiTokens.get(token);
      return userId === undefined ? null : { userId, profile: { name: userId } };
    },
    conversationsOf: (userId) =>
      Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
    membersOf: (c) => conversations[c] ?? [],
    ...(options.engine ? { engine: options.engine } : {}),
    onOfflineRecipients: (input) => options.onOffline?.(input),
  });

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && req.url === '/webhooks/deploy') {
      const body = await rawBody(req);
      if (
        !verified(options.webhookSecret, body, req.headers['x-signature'] as string | undefined)
      ) {
        return reply(res, 401, { error: 'bad signature' });
      }
      let event: unknown;
      try {
        event = JSON.parse(body);
      } catch {
        return reply(res, 400, { error: 'invalid JSON' });
      }
      if (!isDeployEvent(event)) return reply(res, 422, { error: 'not a deploy event' });
      const icon = event.status === 'succeeded' ? '✅' : '❌';
      try {
        const message = await hub.publish(DEPLOYS, {
          text: `${icon} ${event.service} → ${event.environment}: deploy ${event.status} (${event.commit.slice(0, 7)})`,
          senderId: 'deploy-bot',
          sender: { name: 'Deploy bot' },
          data: { ...event },
          clientMsgId: `deploy:${event.deliveryId}`, // redeliveries are stored once
        });
        return reply(res, 202, { conversationId: DEPLOYS, seq: message.seq, id: message.id });
      } catch (err) {
        if (err instanceof HubUsageError) return reply(res, 422, { error: err.message });
        throw err;
      }
    }
    if (req.method === 'GET' && req.url === '/health') return reply(res, 200, hub.stats());
    reply(res, 404, { error: 'not found' });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, { error: 'internal' });
    });
  });
  attachHub(hub, server, { path: '/parley' });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    hub,
    async close() {
      await hub.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
