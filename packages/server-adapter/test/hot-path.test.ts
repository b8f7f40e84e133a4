/**
 * The send path's shortcuts (issue 15) keep their promises: no lease round trip unless a `persist`
 * hook or a reply needs it (a retry is still stored once), the `ack` spliced out of the fan-out
 * frame says exactly what the encoded object said, and a fan-out is encoded to bytes once for
 * every socket that takes bytes.
 */
import { decodeServerFrame } from '@parley/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { messageJson } from '../src/engines/redis/pubsub.js';
import { type Engine, type MessageDraft, withSeq } from '../src/engines/types.js';
import { createHub, type Hub } from '../src/hub/hub.js';
import type { HubOptions } from '../src/hub/options.js';
import { FakeSocket, request } from './utils/fake-socket.js';

/** A socket that takes bytes too, and records which it got. */
class BytesSocket extends FakeSocket {
  raw: (string | Uint8Array)[] = [];
  override send(data: string): void {
    this.raw.push(data);
    super.send(data);
  }
  sendBytes(data: Uint8Array): void {
    this.raw.push(data);
    super.send(new TextDecoder().decode(data));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

function counting(engine: Engine): { engine: Engine; claims: () => number } {
  let n = 0;
  const wrapped = Object.create(engine) as Engine;
  wrapped.claimSend = (...args) => {
    n++;
    return engine.claimSend(...args);
  };
  return { engine: wrapped, claims: () => n };
}

async function setup(options: Partial<HubOptions> = {}) {
  const counted = counting(createMemoryEngine());
  const hub: Hub = createHub({
    engine: counted.engine,
    authenticate: ({ token }) => (token ? { userId: token } : null),
    conversationsOf: () => ['c1'],
    ...options,
  });
  const open = async (token: string, s: FakeSocket = new FakeSocket()) => {
    s.handlers = hub.open(s, request);
    s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token }));
    await until(() => s.of('welcome').length === 1, 'welcome');
    return s;
  };
  return { hub, open, claims: counted.claims };
}

const send = (s: FakeSocket, ref: string, extra: Record<string, unknown> = {}) =>
  s.handlers.onMessage(
    JSON.stringify({
      type: 'send',
      ref,
      conversationId: 'c1',
      clientMsgId: 'k1',
      text: 'hi',
      ...extra,
    }),
  );

describe('send path shortcuts', () => {
  it('takes no lease without a persist hook, and a retry of the same clientMsgId is still stored once', async () => {
    const { hub, open, claims } = await setup();
    const alice = await open('alice');
    send(alice, 'r1');
    send(alice, 'r2');
    await until(() => alice.of('ack').length === 2, 'two acks');
    const [first, retry] = alice.of('ack');
    expect(first!.duplicate).toBe(false);
    expect(retry!.duplicate).toBe(true);
    expect(retry!.message.seq).toBe(first!.message.seq);
    expect(claims()).toBe(0);
    expect((await hub.history('c1')).messages).toHaveLength(1);
    await hub.close();
  });

  it('takes the lease when a persist hook is set (it must run once per message)', async () => {
    let persisted = 0;
    const { hub, open, claims } = await setup({
      persist: () => {
        persisted++;
        return undefined;
      },
    });
    const alice = await open('alice');
    send(alice, 'r1');
    send(alice, 'r2');
    await until(() => alice.of('ack').length === 2, 'two acks');
    expect(claims()).toBe(2);
    expect(persisted).toBe(1);
    await hub.close();
  });

  it('takes the lease for a reply, so a retry after its target is deleted still gets its ack', async () => {
    const { hub, open, claims } = await setup();
    const alice = await open('alice');
    send(alice, 'r0', { clientMsgId: 'target' });
    await until(() => alice.of('ack').length === 1, 'ack of the target');
    send(alice, 'r1', { replyTo: 1 });
    await until(() => alice.of('ack').length === 2, 'ack of the reply');
    await hub.deleteMessage('c1', 1);
    send(alice, 'r2', { replyTo: 1 });
    await until(() => alice.of('ack').length === 3, 'ack of the retry');
    expect(alice.of('ack')[2]!.duplicate).toBe(true);
    expect(alice.of('error')).toEqual([]);
    expect(claims()).toBe(2);
    await hub.close();
  });

  it('splices the ack out of the fan-out frame: the same fields as an encoded ack', async () => {
    const { hub, open } = await setup();
    const alice = await open('alice', new BytesSocket());
    send(alice, 'r"1\u2028');
    await until(() => alice.of('ack').length === 1, 'ack');
    const raw = (alice as BytesSocket).raw.at(-1)!;
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    const ack = JSON.parse(text) as Record<string, unknown>;
    const stored = (await hub.history('c1')).messages[0]!;
    expect(ack).toEqual({
      type: 'ack',
      ref: 'r"1\u2028',
      clientMsgId: 'k1',
      duplicate: false,
      message: JSON.parse(JSON.stringify(stored)),
    });
    expect(decodeServerFrame(text)).toEqual(ack);
    await hub.close();
  });

  it('encodes a fan-out once: every socket that takes bytes gets the same bytes', async () => {
    const { hub, open } = await setup();
    const sockets = await Promise.all(
      ['bob', 'carol', 'dave'].map((u) => open(u, new BytesSocket()) as Promise<BytesSocket>),
    );
    const alice = await open('alice');
    send(alice, 'r1');
    await until(() => sockets.every((s) => s.of('message').length === 1), 'fan-out');
    const got = sockets.map((s) => s.raw.at(-1));
    expect(got[0]).toBeInstanceOf(Uint8Array);
    expect(got[1]).toBe(got[0]);
    expect(got[2]).toBe(got[0]);
    // The string-only socket still gets a string.
    expect(alice.of('ack')).toHaveLength(1);
    await hub.close();
  });
});

describe('withSeq (the stored message built from a draft)', () => {
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const draftArb: fc.Arbitrary<MessageDraft> = fc
    .record({
      id: fc.uuid(),
      conversationId: fc.string({ minLength: 1 }),
      clientMsgId: fc.string({ minLength: 1 }),
      senderId: fc.string({ minLength: 1 }),
      sender: opt(fc.record({ name: fc.string() })),
      kind: fc.constantFrom('user' as const, 'system' as const),
      text: fc.string({ unit: 'grapheme' }),
      data: opt(fc.jsonValue()),
      createdAt: fc.nat(),
      replyTo: opt(fc.integer({ min: 1 })),
    })
    .map((d) => {
      // Absent optional fields are absent keys, as the hub builds them.
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d)) if (v !== undefined) out[k] = v;
      return out as unknown as MessageDraft;
    });

  it('is the spread with seq last: the same JSON, and the draft JSON with `,"seq":N` spliced', () => {
    fc.assert(
      fc.property(draftArb, fc.integer({ min: 1 }), (draft, seq) => {
        const before = JSON.stringify(draft);
        const json = JSON.stringify(withSeq(draft, seq));
        expect(json).toBe(JSON.stringify({ ...draft, seq }));
        expect(json).toBe(`${before.slice(0, -1)},"seq":${seq}}`);
        // The draft itself is left as it was.
        expect(JSON.stringify(draft)).toBe(before);
      }),
      { seed: 15, numRuns: 300 },
    );
  });
});

describe('the message JSON inside a published envelope (Redis engine)', () => {
  const message = {
    id: 'm1',
    conversationId: 'c"1',
    clientMsgId: '"message":{',
    senderId: 'u',
    kind: 'user',
    text: 'say "message":{"x":1}} \u2028',
    createdAt: 1,
    seq: 7,
  };
  it('is the message key of the envelope, whatever the strings hold', () => {
    for (const origin of ['', 'conn-1', 'a"message":{', '\\"message\\":']) {
      const raw = `{"kind":"message",${origin === '' ? '' : `"origin":${JSON.stringify(origin)},`}"epoch":"e1","message":${JSON.stringify(message)}}`;
      const json = messageJson(raw);
      expect(json).toBe(JSON.stringify(message));
      expect(JSON.parse(json!)).toEqual((JSON.parse(raw) as { message: unknown }).message);
    }
  });
  it('is undefined for any other shape', () => {
    expect(messageJson('{"kind":"typing","conversationId":"c"}')).toBeUndefined();
    expect(messageJson('{"kind":"message","message":{}')).toBeUndefined();
  });
});

describe('presence refresh batching', () => {
  it('refreshes the entries of every socket that answered a heartbeat in one engine call', async () => {
    const engine = createMemoryEngine();
    const calls: number[] = [];
    const wrapped = Object.create(engine) as Engine;
    wrapped.presenceRefresh = (entries, ttlMs) => {
      calls.push(entries.length);
      return engine.presenceRefresh(entries, ttlMs);
    };
    const hub = createHub({
      engine: wrapped,
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1'],
      heartbeat: { intervalMs: 50, timeoutMs: 2_000 },
    });
    const sockets: FakeSocket[] = [];
    for (const u of ['a', 'b', 'c', 'd', 'e']) {
      const s = new FakeSocket();
      s.handlers = hub.open(s, request);
      s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: u }));
      sockets.push(s);
    }
    await until(() => sockets.every((s) => s.of('welcome').length === 1), 'welcome');
    await until(() => sockets.every((s) => s.pings === 1), 'a ping on every socket');
    for (const s of sockets) s.handlers.onPong();
    expect(calls).toEqual([]);
    await until(() => calls.length > 0, 'a refresh');
    expect(calls).toEqual([5]);
    // The entries stay live: every user is still online for the others.
    expect([...(await engine.connectedUsers(['a', 'b', 'c', 'd', 'e']))].sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    await hub.close();
  });
});
