/**
 * Issue 16's acceptance: a user with 200 conversations × 500 stored messages connects from a
 * fresh device (no cursors). The inbox — every conversation's title (conversationMeta), last
 * message and unread count — is complete with the `summary` chunk that says `more: false`,
 * within a bounded number of bytes (before issue 16 the same connect downloaded every message:
 * about 100,000 of them, ~20 MB); then opening a conversation is one `history` page.
 * Memory engine, and Redis with the messages stored through one process and the user connected
 * to another.
 */
import type { Message, ServerFrame } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { createRedisEngine } from '../src/engines/redis/index.js';
import type { Engine, MessageDraft } from '../src/engines/types.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './redis/helpers.js';
import { is, TestClient } from './utils/client.js';
import { tServers } from './utils/servers.js';

const redis = await requireRedis('cold start over redis');

const CONVERSATIONS = 200;
const MESSAGES = 500;
/**
 * The bound on what a fresh device receives before its inbox is complete (welcome + summary
 * chunks, UTF-8 bytes): measured ~84 KiB for these 200 conversations (welcome ~20 KiB, summary
 * ~64 KiB; BENCHMARKS.md, "Cold start") — O(conversations), independent of the 100,000 stored
 * messages (~19 MB of message JSON, all of which a fresh device downloaded before issue 16).
 */
const MAX_COLD_START_BYTES = 128 * 1024;

const ids = Array.from({ length: CONVERSATIONS }, (_, i) => `room-${i}`);
const pad = 'x'.repeat(80);
/** Within the history's age limit (7 days). */
const BASE_TIME = Date.now() - 3_600_000;

/** Conversation i: bob writes, alice's own message at 250 (sending marks read), a system
 * message last in every tenth, and alice read up to 400 in every third. */
function expected(i: number): { unread: number; readSeq: number; last: string } {
  const readSeq = i % 3 === 0 ? 400 : 250;
  return { readSeq, unread: MESSAGES - readSeq, last: i % 10 === 0 ? 'system' : 'bob' };
}

async function seed(engine: Engine): Promise<void> {
  const draft = (c: string, j: number, i: number): MessageDraft => {
    const sender = j === 250 ? 'alice' : j === MESSAGES && i % 10 === 0 ? 'system' : 'bob';
    return {
      id: `${c}-${j}`,
      conversationId: c,
      clientMsgId: `k${j}`,
      senderId: sender,
      kind: sender === 'system' ? 'system' : 'user',
      text: `m${j} ${pad}`,
      createdAt: BASE_TIME + i * 1000 + j,
    };
  };
  // Conversations in parallel, each conversation's messages in order.
  await Promise.all(
    ids.map(async (c, i) => {
      for (let j = 1; j <= MESSAGES; j++) await engine.append({ draft: draft(c, j, i) });
      if (i % 3 === 0) await engine.setRead(c, 'alice', 400);
    }),
  );
}

const hubOptions = (engine: Engine) => ({
  authenticate: ({ token }: { token?: string | undefined }) => (token ? { userId: token } : null),
  conversationsOf: (userId: string) => (userId === 'alice' || userId === 'bob' ? ids : []),
  conversationMeta: (list: readonly string[]) =>
    Object.fromEntries(list.map((c) => [c, { title: `Title of ${c}`, members: ['alice', 'bob'] }])),
  engine,
});

async function coldStart(url: string): Promise<{ alice: TestClient; bytes: number }> {
  const alice = await TestClient.connect(url, { token: 'alice' });
  const last = await alice.next(
    is('summary', (f) => !f.more),
    20_000,
  );
  const upTo = alice.frames.indexOf(last);
  const bytes = alice.raw.slice(0, upTo + 1).reduce((n, f) => n + Buffer.byteLength(f), 0);
  await alice.next(is('synced'), 10_000);
  return { alice, bytes };
}

function checkInbox(alice: TestClient): void {
  const summaries = alice.frames.filter(is('summary'));
  expect(summaries.length).toBeGreaterThanOrEqual(1);
  expect(summaries.at(-1)!.more).toBe(false);
  const rows = new Map(summaries.flatMap((s) => s.conversations).map((r) => [r.id, r] as const));
  const welcome = new Map(alice.welcome.conversations.map((c) => [c.id, c] as const));
  expect(rows.size).toBe(CONVERSATIONS);
  ids.forEach((c, i) => {
    const e = expected(i);
    const row = rows.get(c)!;
    expect(row.meta?.title).toBe(`Title of ${c}`);
    expect(row.lastMessage).toMatchObject({ seq: MESSAGES, senderId: e.last });
    expect(welcome.get(c)).toMatchObject({ seq: MESSAGES, readSeq: e.readSeq, unread: e.unread });
  });
  // Newest activity first.
  const order = summaries.flatMap((s) => s.conversations).map((r) => r.lastMessage!.createdAt);
  expect(order).toEqual([...order].sort((a, b) => b - a));
  // Nothing was replayed, and no message came before synced.
  const types = new Set(alice.frames.map((f: ServerFrame) => f.type));
  for (const t of ['replay', 'reset', 'message', 'history'] as const)
    expect(types.has(t)).toBe(false);
}

async function openOne(alice: TestClient): Promise<Message[]> {
  alice.send({ type: 'history', ref: 'open', conversationId: 'room-7', limit: 50 });
  const page = await alice.next(is('history', (f) => f.ref === 'open'));
  expect(page.hasMore).toBe(true);
  expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, k) => 451 + k));
  return page.messages;
}

describe('cold start (issue 16 acceptance): 200 conversations × 500 messages, fresh device', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('memory engine: the inbox is complete at the last summary chunk, within the byte bound', async () => {
    const engine = createMemoryEngine();
    await seed(engine);
    const server = await tServers[0]!.start(hubOptions(engine));
    cleanup.push(() => server.dispose());
    const { alice, bytes } = await coldStart(server.url);
    cleanup.push(async () => alice.terminate());
    checkInbox(alice);
    expect(bytes).toBeLessThan(MAX_COLD_START_BYTES);
    await openOne(alice);
    // The same inbox in chunks under a small outbound frame bound: each within it, more:false last.
    const small = await tServers[0]!.start({
      ...hubOptions(engine),
      limits: { maxOutboundFrameBytes: 16_384 },
    });
    cleanup.push(() => small.dispose());
    const chunked = await coldStart(small.url);
    cleanup.push(async () => chunked.alice.terminate());
    checkInbox(chunked.alice);
    const chunks = chunked.alice.raw.filter((f) => f.startsWith('{"type":"summary"'));
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(16_384);
  }, 60_000);

  it.skipIf(!redis)(
    'redis, two processes: stored through one, read on the other; live after synced',
    async () => {
      const keyPrefix = uniquePrefix();
      cleanup.push(() => deleteKeys(keyPrefix));
      const start = async () => {
        const engine = createRedisEngine({ redis: REDIS_URL, keyPrefix });
        const server = await tServers[0]!.start(hubOptions(engine));
        cleanup.push(async () => {
          await server.dispose();
          await engine.close();
        });
        return { engine, server };
      };
      const a = await start();
      const b = await start();
      await seed(a.engine);
      const { alice, bytes } = await coldStart(b.server.url);
      cleanup.push(async () => alice.terminate());
      checkInbox(alice);
      expect(bytes).toBeLessThan(MAX_COLD_START_BYTES);
      await openOne(alice);
      // Live from its head on, across processes.
      await a.server.hub.publish('room-3', { text: 'after synced' });
      expect((await alice.next(is('message'))).message).toMatchObject({
        conversationId: 'room-3',
        seq: MESSAGES + 1,
      });
    },
    120_000,
  );
});
