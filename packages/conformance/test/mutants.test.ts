/**
 * Each rule PROTOCOL.md makes explicit (issue 19) has a check that fails — clearly, and alone —
 * against a server that breaks only that rule: Parley's hub behind a proxy that breaks it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHub, type Hub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS, type CheckId, formatReport, runConformance } from '../src/index.js';
import { type Frame, type Mutant, startMutant } from './mutant.js';

const anyPayload = {
  '~standard': { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value }) },
};

let upstream = '';
const disposers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  const hub = createHub({
    authenticate: ({ token }) => (token?.startsWith('tok-') ? { userId: token.slice(4) } : null),
    conversationsOf: () => ['c1'],
    events: { 'conformance.ping': anyPayload },
  }) as unknown as Hub;
  const server = createServer();
  attachHub(hub, server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  upstream = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/parley`;
  disposers.push(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
afterAll(async () => {
  for (const d of disposers.splice(0).reverse()) await d();
});

const MAX_FRAME = 65_536;
const MAX_TEXT = 10_000;
const emptyReplay = (conversationId: unknown, seq: unknown, epoch: unknown, ref?: unknown) => ({
  type: 'replay',
  ...(ref === undefined ? {} : { ref }),
  conversationId,
  epoch,
  seq,
  messages: [],
});
const cursorsOf = (hello: Frame | undefined) =>
  (hello?.cursors ?? {}) as Record<string, { seq: number; epoch?: string }>;

/** An ack a mutant makes up for a refused request, as if it had been stored. */
const fakeAck = (req: Frame): Frame => ({
  type: 'ack',
  ref: req.ref,
  clientMsgId: req.clientMsgId,
  duplicate: false,
  message: {
    id: `m_fake_${String(req.ref)}`,
    conversationId: req.conversationId,
    seq: 999_999,
    clientMsgId: req.clientMsgId,
    senderId: 'fake',
    kind: req.type === 'delete' ? 'delete' : 'user',
    text: '',
    createdAt: 0,
  },
});

/** Heads each proxied session's `welcome` announced, for mutants that fake resume frames. */
const heads = new WeakMap<object, Map<unknown, { seq: unknown; epoch: unknown }>>();

/** The mutants: which check each must fail (and the words its report must contain). */
const mutants: { name: string; breaks: CheckId; says: RegExp; mutant: Mutant }[] = [
  {
    name: 'closes a hello of another version with 4400',
    breaks: 'hello.version',
    says: /closed with 4400, expected 4406/,
    mutant: {
      client: (f, c) =>
        f.type === 'hello' && c.hello === f && f.protocol !== 1 ? { close: 4400 } : undefined,
    },
  },
  {
    name: 'never says synced',
    breaks: 'session.synced',
    says: /no synced within/,
    mutant: { server: (f) => (f.type === 'synced' ? [] : undefined) },
  },
  {
    // The session start before issue 16: conversations without a cursor replayed from 0.
    name: 'replays a conversation missing from the cursors',
    breaks: 'resume.no_cursor',
    says: /a conversation missing from the cursors is not replayed/,
    mutant: {
      server: (f, c) => {
        if (f.type === 'welcome') {
          const convs = f.conversations as { id: unknown; seq: unknown; epoch: unknown }[];
          heads.set(c, new Map(convs.map((x) => [x.id, { seq: x.seq, epoch: x.epoch }])));
          return undefined;
        }
        if (f.type !== 'synced') return undefined;
        const missing = [...(heads.get(c) ?? [])].filter(
          ([id]) => !Object.hasOwn(cursorsOf(c.hello), String(id)),
        );
        return [...missing.map(([id, h]) => emptyReplay(id, h.seq, h.epoch)), f];
      },
    },
  },
  {
    name: 'says synced twice',
    breaks: 'session.synced',
    says: /2 synced frames in one session/,
    mutant: { server: (f) => (f.type === 'synced' ? [f, f] : undefined) },
  },
  {
    // A server that acks at once, ahead of messages still on their way to the sender's socket.
    name: "sends a socket's acks ahead of earlier messages",
    breaks: 'ack.stream_order',
    says: /an ack comes at its message's place in the stream/,
    mutant: {
      server: (f, c) => {
        if (!c.requests.size || ![...c.requests.values()].some((r) => r.type === 'send'))
          return undefined;
        if (f.type === 'message') {
          c.held.push(f);
          return [];
        }
        if (f.type === 'ack') return [f, ...c.held.splice(0)];
        return undefined;
      },
    },
  },
  {
    name: 'counts text length in UTF-16 units',
    breaks: 'text.code_points',
    says: /was refused: .*too_large.* lengths count code points/,
    mutant: {
      client: (f) =>
        f.type === 'send' && typeof f.text === 'string' && f.text.length > MAX_TEXT
          ? [
              {
                type: 'error',
                ref: f.ref,
                code: 'too_large',
                message: 'text too long',
                field: 'text',
              },
            ]
          : undefined,
    },
  },
  {
    name: 'counts frame size in UTF-16 units',
    breaks: 'frame.too_large',
    says: /no close for a frame over maxFrameBytes/,
    mutant: {
      client: (f, _c, raw) =>
        Buffer.byteLength(raw) > MAX_FRAME && raw.length <= MAX_FRAME && f.type === 'ping'
          ? [{ type: 'pong', ref: f.ref }]
          : undefined,
    },
  },
  {
    name: 'ignores a read of seq 0 silently',
    breaks: 'read.seq',
    says: /no error with ref read0-/,
    mutant: { client: (f) => (f.type === 'read' && f.seq === 0 ? [] : undefined) },
  },
  {
    name: 'ignores a read beyond the head',
    breaks: 'read.seq',
    says: /no b's read at user a/,
    mutant: {
      client: (f, c) =>
        f.type === 'read' &&
        typeof f.seq === 'number' &&
        f.seq > (c.seen.get(String(f.conversationId)) ?? 0)
          ? []
          : undefined,
    },
  },
  {
    name: 'accepts an event with both a conversation and a user',
    breaks: 'event.target',
    says: /an event with both conversationId and userId got \{"type":"ok"/,
    mutant: {
      client: (f) =>
        f.type === 'event' && f.conversationId !== undefined && f.userId !== undefined
          ? [{ type: 'ok', ref: f.ref }]
          : undefined,
    },
  },
  {
    name: 'never answers an event with ok',
    breaks: 'event.ok',
    says: /no ok with ref event-/,
    mutant: { server: (f) => (f.type === 'ok' ? [] : undefined) },
  },
  {
    name: 'lets a client address any user',
    breaks: 'event.user',
    says: /an event to a user who shares no conversation got \{"type":"ok"/,
    mutant: {
      server: (f, c) =>
        f.type === 'error' &&
        f.code === 'forbidden' &&
        c.requests.get(String(f.ref))?.type === 'event'
          ? [{ type: 'ok', ref: f.ref }]
          : undefined,
    },
  },
  {
    name: "accepts another user's token in auth",
    breaks: 'auth.other_user',
    says: /expected error unauthenticated/,
    mutant: {
      client: (f) => (f.type === 'auth' ? [{ type: 'authed', ref: f.ref }] : undefined),
    },
  },
  {
    name: 'replays a cursor at the head (an empty replay)',
    breaks: 'resume.at_head',
    says: /a cursor at the head .* got \{"type":"replay"/,
    mutant: {
      server: (f, c) =>
        f.type === 'synced'
          ? [
              ...Object.entries(cursorsOf(c.hello)).map(([id, cur]) =>
                emptyReplay(id, cur.seq, cur.epoch ?? 'x'),
              ),
              f,
            ]
          : undefined,
    },
  },
  {
    name: 'treats a cursor ahead of the head as up to date',
    breaks: 'resume.ahead',
    says: /a cursor ahead of the head got \{"type":"replay"/,
    mutant: {
      server: (f, c) => {
        const cur = cursorsOf(c.hello)[String(f.conversationId)];
        return f.type === 'reset' &&
          f.ref === undefined &&
          cur !== undefined &&
          cur.epoch === f.epoch
          ? [emptyReplay(f.conversationId, cur.seq, f.epoch)]
          : undefined;
      },
    },
  },
  {
    name: 'answers a sync at the head without a ref with nothing',
    breaks: 'sync.at_head',
    says: /no answer to a sync without a ref/,
    mutant: {
      server: (f) =>
        f.type === 'replay' && f.ref === undefined && (f.messages as unknown[]).length === 0
          ? []
          : undefined,
    },
  },
  {
    name: 'answers a sync ahead of the head with an empty replay',
    breaks: 'sync.ahead',
    says: /a sync ahead of the head got \{"type":"replay"/,
    mutant: {
      server: (f, c) => {
        const sync = c.requests.get(String(f.ref));
        return f.type === 'reset' && sync?.type === 'sync' && sync.epoch === f.epoch
          ? [emptyReplay(f.conversationId, sync.after, f.epoch, f.ref)]
          : undefined;
      },
    },
  },
  {
    name: 'never ends the inbox (more: true on every summary chunk)',
    breaks: 'inbox.summary',
    says: /expected only the last false/,
    mutant: { server: (f) => (f.type === 'summary' ? [{ ...f, more: true }] : undefined) },
  },
  {
    name: "counts the sender's own messages as unread",
    breaks: 'unread.own_send',
    says: /expected 0 — sending marks read/,
    mutant: {
      server: (f, c) =>
        f.type === 'welcome' && c.hello?.token === 'tok-alice'
          ? [
              {
                ...f,
                conversations: (f.conversations as Frame[]).map((x) => ({
                  ...x,
                  unread: Number(x.unread) + 1,
                })),
              },
            ]
          : undefined,
    },
  },
  {
    name: 'shows the stale state of an edited message in history',
    breaks: 'op.edit',
    says: /messages carry their current state/,
    mutant: {
      server: (f) =>
        f.type === 'history'
          ? [
              {
                ...f,
                messages: (f.messages as Frame[]).map(
                  ({ editedAt: _e, version: _v, ...m }) => m as Frame,
                ),
              },
            ]
          : undefined,
    },
  },
  {
    name: "lets a member delete another user's message",
    breaks: 'op.forbidden',
    says: /b's delete of a's message got \{"type":"ack".*expected error forbidden/,
    mutant: {
      server: (f, c) => {
        const req = c.requests.get(String(f.ref));
        return f.type === 'error' && f.code === 'forbidden' && req?.type === 'delete'
          ? [fakeAck(req)]
          : undefined;
      },
    },
  },
  {
    name: 'drops deleted messages from history (no tombstone)',
    breaks: 'op.react_delete',
    says: /a delete leaves a tombstone that keeps its seq/,
    mutant: {
      server: (f) =>
        f.type === 'history'
          ? [{ ...f, messages: (f.messages as Frame[]).filter((m) => m.deleted !== true) }]
          : undefined,
    },
  },
  {
    name: 'stores a reply to a message that does not exist',
    breaks: 'reply.not_found',
    says: /got \{"type":"ack".*expected error not_found/,
    mutant: {
      server: (f, c) => {
        const req = c.requests.get(String(f.ref));
        return f.type === 'error' && f.code === 'not_found' && req?.type === 'send'
          ? [fakeAck(req)]
          : undefined;
      },
    },
  },
];

/** Checks that skip when `id` fails (directly or through another check). */
function dependents(id: string): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [c, , deps] of CHECKS) {
      if (out.has(c)) continue;
      if ((deps as readonly string[]).some((d) => d === id || out.has(d))) {
        out.add(c);
        grew = true;
      }
    }
  }
  return [...out];
}

const run = (url: string) =>
  runConformance({
    url,
    tokens: { a: 'tok-alice', b: 'tok-bob' },
    conversationId: 'c1',
    // Generous for a shared CPU; only the checks a mutant breaks by silence wait this long.
    timeoutMs: 2000,
  });

describe('each rule fails clearly, and alone, against a server that breaks it', () => {
  it.each(mutants.map((m) => [m.name, m] as const))('a server that %s', async (_name, m) => {
    const proxy = await startMutant(upstream, m.mutant);
    try {
      const report = await run(proxy.url);
      const by = Object.fromEntries(report.results.map((r) => [r.id, r]));
      const text = formatReport(report);
      expect(by[m.breaks], text).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(m.says),
      });
      const skipped = dependents(m.breaks);
      for (const r of report.results) {
        if (r.id === m.breaks) continue;
        if (skipped.includes(r.id)) expect(r.status, `${r.id}\n${text}`).toBe('skip');
        else expect(r.status, `${r.id}: ${r.detail}`).toBe('pass');
      }
      expect(report.passed).toBe(false);
    } finally {
      await proxy.close();
    }
  });
});
