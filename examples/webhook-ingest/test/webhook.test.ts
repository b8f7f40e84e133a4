import { randomUUID } from 'node:crypto';
import { createClient, type ParleyClient } from '@parley/client';
import type { OfflineRecipients } from '@parley/server-adapter';
import { waitUntil } from '@parley/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEPLOYS,
  type DeployEvent,
  sign,
  startWebhookServer,
  type WebhookServer,
} from '../src/server.js';

const SECRET = 'test-webhook-secret';

/** Resolves when `check()` holds, re-checking on every change the subscription reports. */

const isOpen = (c: ParleyClient) =>
  waitUntil(
    (fn) => c.on('state', fn),
    () => c.state === 'open',
    'open',
  );
const texts = (c: ParleyClient) => c.conversation(DEPLOYS).messages.map((m) => m.text);
const whenTexts = (c: ParleyClient, n: number) =>
  waitUntil(
    (fn) => c.conversation(DEPLOYS).on('update', fn),
    () => texts(c).length >= n,
    `${n} messages`,
  );

describe('webhook-ingest', () => {
  let server: WebhookServer;
  const offline: OfflineRecipients[] = [];
  const clients: ParleyClient[] = [];

  beforeEach(async () => {
    offline.length = 0;
    server = await startWebhookServer({ webhookSecret: SECRET, onOffline: (i) => offline.push(i) });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  const connect = (token: () => string | Promise<string>) => {
    const c = createClient({ url: `${server.url.replace('http', 'ws')}/parley`, token });
    clients.push(c);
    return c;
  };

  const post = (event: Partial<DeployEvent>, signature?: string) => {
    const body = JSON.stringify(event);
    return fetch(`${server.url}/webhooks/deploy`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-signature': signature ?? sign(SECRET, body),
      },
      body,
    });
  };

  const deploy = (over: Partial<DeployEvent> = {}): DeployEvent => ({
    deliveryId: randomUUID(),
    service: 'api',
    environment: 'production',
    status: 'succeeded',
    commit: 'a1b2c3d4e5f6',
    ...over,
  });

  it('a connected member sees it live; an offline one catches up on reconnect', async () => {
    const alice = connect(() => 'alice-token');
    // Bob's token provider waits on a gate: while it is closed, Bob cannot reconnect.
    let openGate!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const bob = connect(async () => {
      await gate;
      return 'bob-token';
    });
    await Promise.all([isOpen(alice), isOpen(bob)]);

    const first = await post(deploy({ service: 'web' }));
    expect(first.status).toBe(202);
    await Promise.all([whenTexts(alice, 1), whenTexts(bob, 1)]);

    // Bob drops off (his network is gone: the reconnect waits on the gate).
    gate = new Promise((r) => {
      openGate = r;
    });
    await server.hub.disconnectUser('bob', { code: 4401, reason: 'network down' });
    await waitUntil(
      (fn) => bob.on('state', fn),
      () => bob.state !== 'open',
      'bob down',
    );

    const second = deploy({ service: 'api', status: 'failed' });
    expect((await post(second)).status).toBe(202);
    expect((await post(second)).status).toBe(202); // redelivery: stored once
    expect((await post(deploy({ service: 'worker' }))).status).toBe(202);
    await whenTexts(alice, 3);
    expect(texts(alice)).toEqual([
      '✅ web → production: deploy succeeded (a1b2c3d)',
      '❌ api → production: deploy failed (a1b2c3d)',
      '✅ worker → production: deploy succeeded (a1b2c3d)',
    ]);
    const stored = alice.conversation(DEPLOYS).messages;
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(stored[1]).toMatchObject({
      kind: 'system',
      senderId: 'deploy-bot',
      sender: { name: 'Deploy bot' },
      data: { service: 'api', status: 'failed' },
    });
    // The app was told Bob missed them (push / e-mail hook).
    expect(offline.map((o) => [o.message.seq, o.userIds])).toEqual([
      [2, ['bob']],
      [3, ['bob']],
    ]);
    expect(texts(bob)).toHaveLength(1);

    openGate();
    await isOpen(bob);
    await whenTexts(bob, 3);
    expect(texts(bob)).toEqual(texts(alice));
    expect(bob.conversation(DEPLOYS).messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('refuses unsigned, badly signed and malformed deliveries', async () => {
    const alice = connect(() => 'alice-token');
    await isOpen(alice);
    expect((await post(deploy(), 'sha256=00')).status).toBe(401);
    expect((await post(deploy(), sign('wrong-secret', JSON.stringify(deploy())))).status).toBe(401);
    expect((await post({ deliveryId: 'x', service: 'api' })).status).toBe(422);
    // Nothing was published: the next valid delivery is seq 1.
    const ok = await post(deploy());
    expect(await ok.json()).toMatchObject({ seq: 1 });
    await whenTexts(alice, 1);
    expect(texts(alice)).toHaveLength(1);
  });
});
