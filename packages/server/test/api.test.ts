/**
 * The HTTP API for the app's backend (Bearer API key) and the health endpoints, through the CLI.
 */
import { defineEvents, type StoredMessage } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  API_KEY,
  api,
  type Cli,
  client,
  closeClients,
  jwtAuth,
  killAll,
  opened,
  startCli,
  token,
  waitFor,
} from './helpers.js';

let cli: Cli;
beforeAll(async () => {
  cli = await startCli({
    auth: jwtAuth,
    api: { key: [API_KEY, 'rotated-key'] },
    presence: { graceMs: 0 },
  });
});
afterAll(async () => {
  closeClients();
  await killAll();
});

const tok = (sub: string, conversations: string[]) => () => token(sub, { conversations });

describe('health', () => {
  it('/metrics answers without a key unless metrics.key is set', async () => {
    const res = await fetch(`${cli.api}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# TYPE parley_connections gauge$/m);
  });

  it('/healthz and /readyz answer without a key', async () => {
    expect((await fetch(`${cli.api}/healthz`)).status).toBe(200);
    const ready = await fetch(`${cli.api}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

describe('HTTP API', () => {
  it('refuses a missing or wrong key with 401, accepts every configured key', async () => {
    expect((await api(cli.api, 'GET', '/v1/stats', undefined, 'wrong')).status).toBe(401);
    expect((await fetch(`${cli.api}/v1/stats`)).status).toBe(401);
    expect((await api(cli.api, 'GET', '/v1/stats', undefined, 'rotated-key')).status).toBe(200);
  });

  it('answers bad input with 400 and a code, unknown routes with 404', async () => {
    const r = await api(cli.api, 'POST', '/v1/conversations/p1/messages', { text: 42 });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    expect(
      (await api(cli.api, 'POST', '/v1/conversations/p1/messages', { text: 'x'.repeat(10_001) }))
        .status,
    ).toBe(400);
    expect((await api(cli.api, 'GET', '/v1/nothing')).status).toBe(404);
    expect((await api(cli.api, 'DELETE', '/v1/conversations/p1/messages')).status).toBe(405);
  });

  it('publish delivers live, and to a client that reconnects afterwards (resume)', async () => {
    const live = client(cli.url, tok('pam', ['p1']));
    // quinn's token provider holds every reconnect until the test opens the gate, so the publish
    // below certainly happens while quinn is offline.
    let calls = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    const later = client(cli.url, async () => {
      if (calls++ > 0) await gate;
      return token('quinn', { conversations: ['p1'] });
    });
    await Promise.all([opened(live), opened(later)]);
    const p1 = later.conversation('p1');
    const reconnecting = waitFor(
      later,
      'state',
      () => later.state === 'reconnecting' || undefined,
      'quinn reconnecting',
    );
    expect(
      (await api(cli.api, 'POST', '/v1/users/quinn/disconnect', { code: 4000, reason: 'test' }))
        .status,
    ).toBe(200);
    await reconnecting;
    const gotLive = new Promise<StoredMessage>((r) => live.conversation('p1').on('message', r));
    const res = await api(cli.api, 'POST', '/v1/conversations/p1/messages', {
      text: 'maintenance at noon',
      data: { level: 'info' },
      sender: { name: 'Ops bot' },
      clientMsgId: 'webhook-1',
    });
    expect(res.status).toBe(201);
    expect(res.body.message).toMatchObject({
      kind: 'system',
      senderId: 'system',
      seq: 1,
      text: 'maintenance at noon',
    });
    expect(await gotLive).toMatchObject({
      text: 'maintenance at noon',
      kind: 'system',
      sender: { name: 'Ops bot' },
    });
    expect(later.state).not.toBe('open');
    expect(p1.messages).toHaveLength(0);
    openGate();
    await opened(later);
    await waitFor(
      p1,
      'update',
      () => p1.messages.find((m) => m.text === 'maintenance at noon'),
      'the publish after reconnect',
    );
    // The same clientMsgId is idempotent.
    const again = await api(cli.api, 'POST', '/v1/conversations/p1/messages', {
      text: 'maintenance at noon',
      clientMsgId: 'webhook-1',
    });
    expect((again.body.message as { seq: number }).seq).toBe(1);
    // A brand-new session (no cursor) starts at the head (issue 16): nothing is replayed.
    const fresh = client(cli.url, tok('quinn', ['p1']));
    await opened(fresh);
    // Its inbox has it as the last message (what the `summary` after `welcome` carries).
    const inbox = await api(cli.api, 'GET', '/v1/users/quinn/conversations');
    expect(inbox.status).toBe(200);
    expect(inbox.body.conversations).toMatchObject([
      { id: 'p1', seq: 1, unread: 1, lastMessage: { seq: 1, text: 'maintenance at noon' } },
    ]);
  });

  it('pages the history of a conversation, newest first page, older with before', async () => {
    for (const text of ['h1', 'h2', 'h3'])
      await api(cli.api, 'POST', '/v1/conversations/hist/messages', { text });
    const page = await api(cli.api, 'GET', '/v1/conversations/hist/messages?limit=2');
    expect(page.status).toBe(200);
    expect(page.body.hasMore).toBe(true);
    const messages = page.body.messages as { seq: number; text: string }[];
    expect(messages.map((m) => [m.seq, m.text])).toEqual([
      [2, 'h2'],
      [3, 'h3'],
    ]);
    const older = await api(cli.api, 'GET', '/v1/conversations/hist/messages?before=2');
    expect(older.body).toMatchObject({ hasMore: false, messages: [{ seq: 1, text: 'h1' }] });
    expect((await api(cli.api, 'GET', '/v1/conversations/nobody-here/messages')).body).toEqual({
      messages: [],
      hasMore: false,
    });
    for (const q of ['limit=0', 'limit=201', 'before=-1', 'before=x', 'limit=1.5'])
      expect(await api(cli.api, 'GET', `/v1/conversations/hist/messages?${q}`)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_query' } },
      });
    const long = 'x'.repeat(129);
    expect((await api(cli.api, 'GET', `/v1/conversations/${long}/messages`)).status).toBe(400);
    // Forward from a seq (issue 16): the oldest `limit` after it.
    const forward = await api(cli.api, 'GET', '/v1/conversations/hist/messages?after=1&limit=1');
    expect(forward.body).toMatchObject({ hasMore: true, messages: [{ seq: 2, text: 'h2' }] });
    expect(await api(cli.api, 'GET', '/v1/conversations/hist/messages?after=-1')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_query' } },
    });
  });

  it('updates conversation metadata for every member socket, and validates it', async () => {
    const c = client(cli.url, tok('meta-user', ['m1']));
    await opened(c);
    const ok = await api(cli.api, 'PUT', '/v1/conversations/m1/meta', { title: 'Design review' });
    expect(ok).toMatchObject({ status: 200, body: { ok: true } });
    const bad = await api(cli.api, 'PUT', '/v1/conversations/m1/meta', { title: 'x'.repeat(257) });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    const none = await api(cli.api, 'GET', '/v1/users/nobody-known/conversations');
    expect(none).toMatchObject({ status: 200, body: { conversations: [] } });
  });

  it('sends an event to a user', async () => {
    // The client validates incoming events with its own schemas (unknown names are dropped).
    const events = defineEvents({ 'invoice.paid': z.object({ id: z.number() }) });
    const c = client(cli.url, tok('rita', []), { events });
    await opened(c);
    const got = new Promise((r) => c.on('event', r));
    expect(
      (
        await api(cli.api, 'POST', '/v1/users/rita/events', {
          name: 'invoice.paid',
          payload: { id: 7 },
        })
      ).status,
    ).toBe(202);
    expect(await got).toMatchObject({ name: 'invoice.paid', from: 'system', payload: { id: 7 } });
  });

  it('joins and leaves members live', async () => {
    const c = client(cli.url, tok('sam', []));
    await opened(c);
    const room = c.conversation('room-9');
    expect(
      (await api(cli.api, 'POST', '/v1/conversations/room-9/join', { userIds: ['sam'] })).status,
    ).toBe(200);
    await waitFor(room, 'update', () => room.joined || undefined, 'joined');
    await expect(room.send('I am in')).resolves.toMatchObject({ senderId: 'sam' });
    expect(
      (await api(cli.api, 'POST', '/v1/conversations/room-9/leave', { userIds: ['sam'] })).status,
    ).toBe(200);
    await waitFor(room, 'update', () => !room.joined || undefined, 'left');
    expect(
      (await api(cli.api, 'POST', '/v1/conversations/room-9/join', { userIds: [] })).status,
    ).toBe(400);
  });

  it('disconnects a user (4403 by default: the client stops)', async () => {
    const c = client(cli.url, tok('tom', []));
    await opened(c);
    expect((await api(cli.api, 'POST', '/v1/users/tom/disconnect', {})).status).toBe(200);
    await waitFor(c, 'state', () => c.state === 'closed' || undefined, 'closed');
    expect((await api(cli.api, 'POST', '/v1/users/tom/disconnect', { code: 1006 })).status).toBe(
      400,
    );
  });

  it('reports presence and stats', async () => {
    const c = client(cli.url, tok('uma', []));
    await opened(c);
    const r = await api(cli.api, 'GET', '/v1/presence?userIds=uma,nobody');
    expect(r.body.presence).toEqual([
      { userId: 'uma', online: true },
      { userId: 'nobody', online: false },
    ]);
    const s = await api(cli.api, 'GET', '/v1/stats');
    expect(s.body.hub).toMatchObject({ closing: false });
    expect((s.body.hub as { sessions: number }).sessions).toBeGreaterThanOrEqual(1);
  });
});
