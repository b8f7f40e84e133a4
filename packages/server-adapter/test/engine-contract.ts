/**
 * The engine conformance suite. Any engine runs it with
 * `runEngineContract('redis', (options) => createRedisEngine({ ...options, ... }))`.
 * The factory must honour `history`, `idempotency` and `now` (the clock used for age-based
 * trimming, idempotency expiry and presence expiry).
 */
import type { Message } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine, Envelope, MessageDraft, RestoredMember } from '../src/engines/types.js';

export interface ContractOptions {
  history?: { maxMessages?: number; maxAgeMs?: number };
  idempotency?: { maxEntries?: number; ttlMs?: number };
  /** Clock for ages and expiries. */
  now?: () => number;
}
export type ContractFactory = (options: ContractOptions) => Engine | Promise<Engine>;

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${(n++).toString(36)}`;
/** Whether `restoreMember` left the user a member. */
const restored = (r: RestoredMember): boolean => (typeof r === 'boolean' ? r : r.member);

export function draft(conversationId: string, over: Partial<MessageDraft> = {}): MessageDraft {
  const clientMsgId = over.clientMsgId ?? uid('cm');
  return {
    id: uid('id'),
    conversationId,
    clientMsgId,
    senderId: 'alice',
    kind: 'user',
    text: `text ${clientMsgId}`,
    createdAt: Date.now(),
    ...over,
  };
}

export function runEngineContract(name: string, factory: ContractFactory): void {
  describe(`engine contract: ${name}`, () => {
    const engines: Engine[] = [];
    let clock = Date.now();
    const make = async (o: ContractOptions = {}): Promise<Engine> => {
      const e = await factory({ now: () => clock, ...o });
      engines.push(e);
      return e;
    };
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
      clock = Date.now();
    });

    const collect = async (e: Engine, topic: `conv:${string}` | `user:${string}` | 'presence') => {
      const got: Envelope[] = [];
      let waiters: (() => void)[] = [];
      const unsubscribe = await e.subscribe(topic, (env) => {
        got.push(env);
        for (const w of waiters.splice(0)) w();
      });
      const waitFor = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`only ${got.length} of ${count} envelopes`)),
            3000,
          );
          const check = () => {
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            } else waiters.push(check);
          };
          check();
        });
      return { got, unsubscribe, waitFor, reset: () => (waiters = []) };
    };

    it('allocates seq 1, 2, 3 per conversation and reports heads with a stable epoch', async () => {
      const e = await make();
      const c = uid('c');
      const empty = (await e.heads([c])).get(c)!;
      expect(empty.seq).toBe(0);
      const seqs = [];
      for (let i = 0; i < 3; i++) seqs.push((await e.append({ draft: draft(c) })).message.seq);
      expect(seqs).toEqual([1, 2, 3]);
      const other = uid('c');
      expect((await e.append({ draft: draft(other) })).message.seq).toBe(1);
      const heads = await e.heads([c, other]);
      expect(heads.get(c)).toEqual({ seq: 3, epoch: empty.epoch });
      expect(heads.get(other)!.seq).toBe(1);
    });

    it('publishes each stored message once, with its origin, in seq order even under concurrency', async () => {
      const e = await make();
      const c = uid('c');
      const sub = await collect(e, `conv:${c}`);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          e.append({ draft: draft(c, { senderId: `u${i % 5}` }), origin: `conn${i}` }),
        ),
      );
      await sub.waitFor(50);
      const published = sub.got.map((x) => (x as { message: Message }).message.seq);
      expect(published).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(results.map((r) => r.message.seq)).size).toBe(50);
      const first = sub.got[0] as { origin?: string; message: Message };
      const r = results.find((x) => x.message.seq === first.message.seq)!;
      expect(first.origin).toBe(`conn${results.indexOf(r)}`);
      await sub.unsubscribe();
    });

    it('is idempotent by (conversation, sender, clientMsgId): same message, duplicate, no publish', async () => {
      const e = await make();
      const c = uid('c');
      const sub = await collect(e, `conv:${c}`);
      const d = draft(c, { clientMsgId: 'same' });
      const first = await e.append({ draft: d });
      const again = await e.append({ draft: { ...d, id: 'other', text: 'changed' } });
      expect(again).toEqual({ message: first.message, duplicate: true });
      // Another sender or conversation with the same clientMsgId is a different message.
      expect(
        (await e.append({ draft: draft(c, { clientMsgId: 'same', senderId: 'bob' }) })).duplicate,
      ).toBe(false);
      expect(await e.findByClientId(c, 'alice', 'same')).toEqual(first.message);
      expect(await e.findByClientId(c, 'carol', 'same')).toBeUndefined();
      await e.append({ draft: draft(c) }); // a marker
      await sub.waitFor(3);
      expect(sub.got.map((x) => (x as { message: Message }).message.seq)).toEqual([1, 2, 3]);
    });

    it('bounds idempotency records by count and age', async () => {
      const e = await make({ idempotency: { maxEntries: 3, ttlMs: 1000 } });
      const c = uid('c');
      for (let i = 0; i < 4; i++) await e.append({ draft: draft(c, { clientMsgId: `m${i}` }) });
      expect(await e.findByClientId(c, 'alice', 'm0')).toBeUndefined();
      expect(await e.findByClientId(c, 'alice', 'm3')).toBeDefined();
      clock += 1001;
      expect(await e.findByClientId(c, 'alice', 'm3')).toBeUndefined();
      expect((await e.append({ draft: draft(c, { clientMsgId: 'm3' }) })).duplicate).toBe(false);
    });

    it('replays a complete range after a seq, or says it is incomplete (never partial)', async () => {
      const e = await make({ history: { maxMessages: 10 } });
      const c = uid('c');
      for (let i = 0; i < 25; i++) await e.append({ draft: draft(c) });
      const ok = await e.range(c, 20, 100);
      expect(ok.complete).toBe(true);
      expect(ok.head.seq).toBe(25);
      expect(ok.messages.map((m) => m.seq)).toEqual([21, 22, 23, 24, 25]);
      expect((await e.range(c, 15, 100)).messages.map((m) => m.seq)).toEqual([
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
      ]);
      const trimmed = await e.range(c, 14, 100);
      expect(trimmed).toMatchObject({ complete: false, messages: [] });
      const tooMany = await e.range(c, 20, 4);
      expect(tooMany).toMatchObject({ complete: false, messages: [] });
      expect(await e.range(c, 25, 100)).toMatchObject({ complete: true, messages: [] });
      expect(await e.range(uid('c'), 0, 100)).toMatchObject({
        complete: true,
        messages: [],
        head: { seq: 0 },
      });
    });

    it('trims history by age', async () => {
      const e = await make({ history: { maxAgeMs: 1000 } });
      const c = uid('c');
      await e.append({ draft: draft(c, { createdAt: clock }) });
      clock += 600;
      await e.append({ draft: draft(c, { createdAt: clock }) });
      clock += 600;
      expect((await e.range(c, 0, 100)).complete).toBe(false);
      expect((await e.range(c, 1, 100)).messages.map((m) => m.seq)).toEqual([2]);
      expect((await e.page(c, undefined, 10)).messages.map((m) => m.seq)).toEqual([2]);
    });

    it('pages backwards: newest `limit` before a seq, ascending, with hasMore', async () => {
      const e = await make();
      const c = uid('c');
      for (let i = 0; i < 12; i++) await e.append({ draft: draft(c) });
      const p1 = await e.page(c, undefined, 5);
      expect(p1.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
      expect(p1.hasMore).toBe(true);
      const p2 = await e.page(c, 3, 5);
      expect(p2).toMatchObject({ hasMore: false });
      expect(p2.messages.map((m) => m.seq)).toEqual([1, 2]);
      expect(await e.page(uid('c'), undefined, 5)).toMatchObject({ messages: [], hasMore: false });
    });

    it('keeps read positions monotonic', async () => {
      const e = await make();
      const c = uid('c');
      expect(await e.setRead(c, 'alice', 5)).toEqual({ seq: 5, advanced: true });
      expect(await e.setRead(c, 'alice', 3)).toEqual({ seq: 5, advanced: false });
      expect(await e.setRead(c, 'alice', 5)).toEqual({ seq: 5, advanced: false });
      await e.setRead(c, 'bob', 2);
      expect(await e.reads(c)).toEqual({ alice: 5, bob: 2 });
      const results = await Promise.all([9, 7, 8, 6].map((s) => e.setRead(c, 'carol', s)));
      expect(results.filter((r) => r.advanced).length).toBeGreaterThanOrEqual(1);
      expect((await e.reads(c)).carol).toBe(9);
    });

    it('records members', async () => {
      const e = await make();
      const c = uid('c');
      await e.addMembers(c, ['alice', 'bob']);
      await e.addMembers(c, ['bob', 'carol']);
      expect((await e.members(c)).sort()).toEqual(['alice', 'bob', 'carol']);
      await e.removeMembers(c, ['bob']);
      expect((await e.members(c)).sort()).toEqual(['alice', 'carol']);
    });

    it('numbers membership changes: every join and leave returns a higher version', async () => {
      const e = await make();
      const c = uid('c');
      const other = uid('c');
      const versions: number[] = [];
      const take = async (v: Promise<number | undefined>) => {
        const n = await v;
        expect(typeof n).toBe('number');
        versions.push(n!);
      };
      await take(e.addMembers(c, ['alice', 'bob']));
      await take(e.removeMembers(c, ['bob']));
      await e.addMembers(other, ['bob']);
      await take(e.addMembers(c, ['bob']));
      await take(e.removeMembers(c, ['alice', 'bob']));
      await take(e.removeMembers(c, ['nobody']));
      for (let i = 1; i < versions.length; i++)
        expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
      expect(versions.every(Number.isSafeInteger)).toBe(true);
      // restoreMember reads the version in its step: at least the last change's, below the next.
      const r = await e.restoreMember(c, 'bob', await e.controlMark());
      expect(r).toEqual({ member: true, version: expect.any(Number) });
      const at = (r as { version: number }).version;
      expect(at).toBeGreaterThanOrEqual(versions.at(-1)!);
      expect((await e.removeMembers(c, ['bob']))!).toBeGreaterThan(at);
    });

    it('records removals under a control mark; restoreMember does not re-add a user removed since', async () => {
      const e = await make();
      const c = uid('c');
      await e.addMembers(c, ['alice', 'bob']);
      const before = await e.controlMark();
      await e.removeMembers(c, ['bob']);
      const after = await e.controlMark();
      expect(after).toBeGreaterThan(before);
      expect(await e.isMember(c, 'bob')).toBe(false);
      // A session start that read its mark before the removal does not re-add bob...
      expect(restored(await e.restoreMember(c, 'bob', before))).toBe(false);
      expect(await e.isMember(c, 'bob')).toBe(false);
      // ...one that read it after the removal (conversationsOf saw the change) does.
      expect(restored(await e.restoreMember(c, 'bob', after))).toBe(true);
      expect(await e.isMember(c, 'bob')).toBe(true);
      // A later join clears the removal: the last change wins.
      await e.removeMembers(c, ['carol']);
      await e.addMembers(c, ['carol']);
      expect(restored(await e.restoreMember(c, 'carol', before))).toBe(true);
      expect((await e.members(c)).sort()).toEqual(['alice', 'bob', 'carol']);
    });

    it('records kicks under a control mark', async () => {
      const e = await make();
      const u = uid('u');
      const before = await e.controlMark();
      expect(await e.kickedSince(u, before)).toBeUndefined();
      await e.recordKick(u, { code: 4403, reason: 'banned\nfor good' });
      expect(await e.kickedSince(u, before)).toEqual({ code: 4403, reason: 'banned\nfor good' });
      expect(await e.kickedSince(u, await e.controlMark())).toBeUndefined();
      expect(await e.kickedSince(uid('other'), before)).toBeUndefined();
    });

    it('leases a send key while it is being stored: claimed, busy, then stored', async () => {
      const e = await make();
      const c = uid('c');
      expect(await e.claimSend(c, 'alice', 'k1', 10_000)).toEqual({ state: 'claimed' });
      const busy = await e.claimSend(c, 'alice', 'k1', 10_000);
      // A busy claim says how long the lease has left: when a retry may take it over.
      expect(busy.state).toBe('busy');
      const left = busy.state === 'busy' ? busy.leaseMs : -1;
      expect(left).toBeGreaterThan(5_000);
      expect(left).toBeLessThanOrEqual(10_000);
      expect(await e.claimSend(c, 'bob', 'k1', 10_000)).toEqual({ state: 'claimed' });
      const { message } = await e.append({ draft: draft(c, { clientMsgId: 'k1' }) });
      expect(await e.claimSend(c, 'alice', 'k1', 10_000)).toEqual({ state: 'stored', message });
      // A released lease (the send failed) can be taken again.
      await e.releaseSend(c, 'bob', 'k1');
      expect(await e.claimSend(c, 'bob', 'k1', 10_000)).toEqual({ state: 'claimed' });
    });

    it('lets a retry take over a lease whose holder never finished (it expires)', async () => {
      const e = await make();
      const c = uid('c');
      expect(await e.claimSend(c, 'alice', 'k1', 40)).toEqual({ state: 'claimed' });
      // The holder died: no append, no release. The lease runs out and the next claim wins.
      const deadline = Date.now() + 5_000;
      let claim = await e.claimSend(c, 'alice', 'k1', 10_000);
      while (claim.state === 'busy' && Date.now() < deadline) {
        expect(claim.leaseMs).toBeLessThanOrEqual(40);
        // Both clocks move: the engine's `now` (memory) and the real one (Redis' PX).
        const wait = Math.max(1, claim.leaseMs);
        clock += wait;
        await new Promise((r) => setTimeout(r, wait));
        claim = await e.claimSend(c, 'alice', 'k1', 10_000);
      }
      expect(claim).toEqual({ state: 'claimed' });
    });

    it('connectedUsers answers for many users at once (2,500, in several calls on Redis)', async () => {
      const e = await make();
      const users = Array.from({ length: 2_500 }, () => uid('m'));
      const live = [users[0]!, users[1_234]!, users[2_499]!];
      for (const [i, u] of live.entries()) await e.presenceConnect(u, `c${i}`, 10_000);
      expect(await e.connectedUsers(users)).toEqual(new Set(live));
      for (const [i, u] of live.entries()) await e.presenceDisconnect(u, `c${i}`, 0);
    });

    it('counts connections per user with a grace period and expiry', async () => {
      const e = await make();
      const u = uid('u');
      expect(await e.presenceConnect(u, 'k1', 10_000)).toEqual({
        wasOnline: false,
        connections: 1,
      });
      expect(await e.presenceConnect(u, 'k2', 10_000)).toEqual({
        wasOnline: true,
        connections: 2,
      });
      expect(await e.connectedUsers([u, 'nobody'])).toEqual(new Set([u]));
      expect(await e.presenceDisconnect(u, 'k1', 500)).toEqual({ remaining: 1 });
      expect(await e.presenceDisconnect(u, 'k2', 500)).toEqual({ remaining: 0 });
      // Within the grace period: still online, but no live socket.
      expect((await e.presence([u])).get(u)).toMatchObject({ online: true });
      expect(await e.connectedUsers([u])).toEqual(new Set());
      expect(await e.presenceConnect(u, 'k3', 10_000)).toEqual({
        wasOnline: true,
        connections: 1,
      });
      await e.presenceDisconnect(u, 'k3', 500);
      clock += 501;
      const rec = (await e.presence([u])).get(u)!;
      expect(rec.online).toBe(false);
      expect(typeof rec.lastSeenAt).toBe('number');
      // A crashed process's connections expire unless refreshed.
      await e.presenceConnect(u, 'k4', 1000);
      await e.presenceConnect(u, 'k5', 1000);
      clock += 600;
      await e.presenceRefresh([{ userId: u, connectionId: 'k5' }], 1000);
      clock += 600;
      expect(await e.connectedUsers([u])).toEqual(new Set([u]));
      clock += 1000;
      expect(await e.connectedUsers([u])).toEqual(new Set());
      expect((await e.presence([u])).get(u)!.online).toBe(false);
    });

    it('fans out on conversation, user and presence topics; unsubscribe stops only that subscription', async () => {
      const e = await make();
      const u = uid('u');
      const s1 = await collect(e, `user:${u}`);
      const s2 = await collect(e, `user:${u}`);
      const p = await collect(e, 'presence');
      const joined = {
        kind: 'joined',
        userId: u,
        conversationId: 'c',
        seq: 3,
        epoch: 'e',
      } as const;
      await e.publish(`user:${u}`, joined);
      await e.publish('presence', {
        kind: 'presence',
        userId: u,
        online: true,
        conversationIds: ['c'],
      });
      await Promise.all([s1.waitFor(1), s2.waitFor(1), p.waitFor(1)]);
      await s1.unsubscribe();
      await e.publish(`user:${u}`, { kind: 'left', userId: u, conversationId: 'c' });
      await s2.waitFor(2);
      expect(s1.got).toEqual([joined]);
      expect(s2.got.map((x) => x.kind)).toEqual(['joined', 'left']);
      expect(p.got).toEqual([
        { kind: 'presence', userId: u, online: true, conversationIds: ['c'] },
      ]);
    });
  });
}
