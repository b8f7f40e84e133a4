/**
 * The Nest recipe, end to end: the app from `src/app.ts` listening on 127.0.0.1:0, its REST
 * routes answering next to the hub at `/parley`, clients (`@parley/client`) sending and receiving,
 * a controller publishing through the injected hub, and `app.close()` shutting the hub down
 * gracefully (clients told 1012, nothing left listening).
 */
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { createClient, type ParleyClient, type StoredMessage } from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';

let app: INestApplication | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await app?.close();
  app = undefined;
});

async function start(): Promise<{ http: string; ws: string; port: number }> {
  app = await createApp();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/parley`, port };
}

async function connect(url: string, user: string) {
  const client = createClient({ url, token: `${user}-token` });
  clients.push(client);
  const got: StoredMessage[] = [];
  client.on('message', (m) => got.push(m));
  await waitUntil(
    (fn) => client.on('state', fn),
    () => client.state === 'open',
    `${user} open`,
  );
  const until = (n: number) =>
    waitUntil(
      (fn) => client.on('message', fn),
      () => got.length >= n,
      `${user}: ${n} messages`,
    );
  return { client, got, until };
}

describe('Parley in a Nest app', () => {
  it('serves Nest routes and the hub on one server; a controller publishes through the injected hub', async () => {
    const { http, ws } = await start();
    const alice = await connect(ws, 'alice');
    const bob = await connect(ws, 'bob');
    expect(await (await fetch(`${http}/api/health`)).json()).toEqual({ ok: true, connections: 2 });

    await alice.client.conversation('general').send('hi from a Nest app');
    await bob.until(1);
    expect(bob.got[0]).toMatchObject({ senderId: 'alice', text: 'hi from a Nest app' });

    const res = await fetch(`${http}/api/conversations/general/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'deploy finished' }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ seq: 2, senderId: 'nest-bot', kind: 'system' });
    await alice.until(2);
    await bob.until(2);
    expect(bob.got.map((m) => [m.seq, m.text])).toEqual([
      [1, 'hi from a Nest app'],
      [2, 'deploy finished'],
    ]);
  });

  it('app.close() closes the hub first: clients are told 1012 (and will resume), nothing listens', async () => {
    const { port, ws } = await start();
    const alice = await connect(ws, 'alice');
    const closed = new Promise<number>((resolve) =>
      alice.client.on('state', ({ to, code }) => to === 'reconnecting' && resolve(code)),
    );
    await app!.close();
    app = undefined;
    expect(await closed).toBe(1012);
    alice.client.close();
    const refused = await fetch(`http://127.0.0.1:${port}/api/health`).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
  });
});
