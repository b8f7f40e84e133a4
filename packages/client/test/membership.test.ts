/**
 * Membership as the client sees it (issue 14): conversations missing from a new `welcome` are
 * left (defect 8), a handle survives leave → rejoin, and a refused send to a foreign conversation
 * leaves no inbox row (defect 10).
 */
import { describe, expect, it } from 'vitest';
import { ServerError } from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0, heartbeat: { intervalMs: 600_000 } });

const two = () => ({
  c1: { epoch: 'e1', messages: [] },
  c2: { epoch: 'e2', messages: [] },
});

describe('conversations absent from a new welcome (defect 8)', () => {
  it('are marked left, leave the inbox and are announced', async () => {
    const members = new Set(['c1', 'c2']);
    const hub = mockHub({ conversations: two(), member: (id) => members.has(id) });
    hub.store('c2', 'before');
    const c = client();
    const c2 = c.conversation('c2');
    void c2.open();
    await opened(c);
    expect(c2.joined).toBe(true);
    await until(() => expect(c2.messages.map((m) => m.text)).toEqual(['before']));
    expect(
      c
        .inbox()
        .map((r) => r.conversationId)
        .sort(),
    ).toEqual(['c1', 'c2']);
    // Removed while offline.
    members.delete('c2');
    const left = nextEvent((l) => c.on('conversation', l));
    const convLeft = new Promise<void>((r) => c2.on('left', r));
    hub.conns[0]!.close(1001);
    expect(await left).toEqual({ type: 'left', conversationId: 'c2' });
    await convLeft;
    expect(c2.joined).toBe(false);
    expect(c.inbox().map((r) => r.conversationId)).toEqual(['c1']);
    expect(c.conversation('c1').joined).toBe(true);
    // The next hello carries no cursor for it.
    members.add('c2');
    hub.conns[1]!.close(1001);
    const third = await hub.waitForConn(2);
    await opened(c);
    expect(Object.keys((third.frames[0] as { cursors: object }).cursors)).not.toContain('c2');
    await until(() => expect(c2.joined).toBe(true));
    // Rejoined without a cursor: it starts at the hub's head; opened, its newest page is loaded, once.
    await until(() => expect(c2.messages.map((m) => m.text)).toEqual(['before']));
    expect(
      c
        .inbox()
        .map((r) => r.conversationId)
        .sort(),
    ).toEqual(['c1', 'c2']);
  });

  it('a handle is the same object after leave and rejoin, and keeps working', async () => {
    const hub = mockHub({ conversations: two() });
    const c = client();
    await opened(c);
    const before = c.conversation('c2');
    const left = new Promise<void>((r) => before.on('left', r));
    hub.conns[0]!.send({ type: 'left', conversationId: 'c2' });
    await left;
    expect(before.joined).toBe(false);
    hub.conns[0]!.send({ type: 'joined', conversationId: 'c2', seq: 0, epoch: 'e2' });
    await until(() => expect(before.joined).toBe(true));
    expect(c.conversation('c2')).toBe(before);
    const got = nextEvent((l) => before.on('message', l));
    hub.conns[0]!.send({ type: 'message', message: hub.store('c2', 'welcome back') });
    expect(await got).toMatchObject({ text: 'welcome back', seq: 1 });
    expect(before.messages.map((m) => m.text)).toEqual(['welcome back']);
  });
});

describe('a refused send to a foreign conversation (defect 10)', () => {
  it('rejects with forbidden and leaves no inbox row behind', async () => {
    mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'send' || f.conversationId !== 'foreign') return false;
        conn.send({
          type: 'error',
          ref: f.ref,
          code: 'forbidden',
          message: 'not a member',
          conversationId: 'foreign',
          clientMsgId: f.clientMsgId,
        });
        return true;
      },
    });
    const c = client();
    await opened(c);
    const rows: string[][] = [];
    c.on('inbox', (r) => rows.push(r.map((x) => x.conversationId)));
    const err = await c
      .conversation('foreign')
      .send('hi')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'forbidden' });
    expect(c.inbox().map((r) => r.conversationId)).toEqual(['c1']);
    expect(rows.flat()).not.toContain('foreign');
    expect(c.conversation('foreign').joined).toBe(false);
  });
});
