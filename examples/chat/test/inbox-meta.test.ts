/**
 * The demo's directory reaches the hub's inbox through `conversationMeta`: per user, every
 * conversation's title (a DM titled by the other member), members and kind, with the seeded
 * unread counts and last messages; a DM created at runtime is pushed to both members.
 */
import { createClient, type ParleyClient } from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { dmId } from '../src/directory.js';
import { type ChatServer, metaOf, startChatServer } from '../src/server.js';

describe('demo inbox metadata', () => {
  const servers: ChatServer[] = [];
  const clients: ParleyClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });

  it("the hub's summary carries titles, members, kind, unread and the last message", async () => {
    const s = await startChatServer();
    servers.push(s);
    const rows = await s.hub.conversationSummary('alice');
    const byId = new Map(rows.map((r) => [r.id, r]));
    const dm = byId.get(dmId('alice', 'bob'));
    expect(dm?.meta).toEqual({
      title: 'Bob Chen',
      members: ['alice', 'bob'],
      data: { kind: 'dm' },
    });
    expect(byId.get('launch')?.meta).toMatchObject({
      title: '# spring-launch',
      data: { kind: 'group' },
    });
    // Seeded: alice read 3 of the support thread's 5 lines (seq 1 is the seed note).
    expect(byId.get('support-4821')).toMatchObject({ seq: 6, readSeq: 4, unread: 2 });
    expect(byId.get('launch')?.lastMessage?.text).toBeTruthy();
    expect(rows.every((r) => r.meta?.title)).toBe(true);
    // Bob sees the same DM titled by Alice.
    const bobRows = await s.hub.conversationSummary('bob');
    expect(bobRows.find((r) => r.id === dmId('alice', 'bob'))?.meta?.title).toBe('Alice Martin');
  });

  it('a DM has no title without a viewer; an unknown conversation has no metadata', async () => {
    const s = await startChatServer();
    servers.push(s);
    expect(metaOf(s.directory, dmId('alice', 'bob'))).toEqual({
      members: ['alice', 'bob'],
      data: { kind: 'dm' },
    });
    expect(metaOf(s.directory, 'nope', 'alice')).toBeUndefined();
  });

  it("a client's inbox carries the metadata, and a DM created at runtime gets it pushed", async () => {
    const s = await startChatServer();
    servers.push(s);
    const dave = createClient({
      url: `${s.url.replace('http', 'ws')}/parley`,
      token: s.tokenFor('dave'),
    });
    clients.push(dave);
    await waitUntil(
      (fn) => dave.on('synced', fn),
      () => dave.synced,
      'synced',
    );
    expect(dave.inbox().map((r) => r.meta?.title)).toEqual(['Support · Northwind #4821']);
    const res = await fetch(`${s.url}/api/conversations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.tokenFor('erin')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userId: 'dave' }),
    });
    expect(res.status).toBe(201);
    const id = dmId('dave', 'erin');
    await waitUntil(
      (fn) => dave.on('inbox', fn),
      () => dave.inbox().some((r) => r.conversationId === id && r.meta !== undefined),
      'the new DM with its metadata',
    );
    expect(dave.inbox().find((r) => r.conversationId === id)?.meta).toEqual({
      members: ['dave', 'erin'],
      data: { kind: 'dm' },
    });
  });
});
