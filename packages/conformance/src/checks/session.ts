/**
 * Session start and resume (PROTOCOL.md, "Connection lifecycle"): hello and its refusals, the
 * version rule, `synced`, the resume rule for hello cursors and `sync`, and the in-band `auth`.
 */
import { decodeServerFrame } from '@parley/protocol';
import { type Body, expect, isType, listed, type State, untilSynced } from '../context.js';
import { CheckFailure, type Frame } from '../probe.js';

const resumeOf = (conv: string) => (f: Frame) =>
  (f.type === 'replay' || f.type === 'reset') && f.conversationId === conv;

export const sessionChecks = {
  'hello.welcome': async (ctx) => {
    const { conv, s } = ctx;
    const sa = await ctx.session('a');
    try {
      decodeServerFrame(JSON.stringify(sa.welcome));
    } catch (err) {
      throw new CheckFailure(
        `welcome does not match the protocol schema: ${ctx.short((err as Error).message)}`,
      );
    }
    s.aId = (sa.welcome as { user: { id: string } }).user.id;
    const c = listed(sa.welcome, conv, 'user a');
    s.epoch = c.epoch;
    s.limits = (sa.welcome.limits ?? {}) as State['limits'];
    const sb = await ctx.session('b');
    s.bId = (sb.welcome as { user?: { id?: string } }).user?.id ?? '';
    expect(
      s.bId !== '' && s.bId !== s.aId,
      `tokens a and b must be two different users (got ${JSON.stringify(s.aId)} and ${JSON.stringify(s.bId)})`,
    );
    listed(sb.welcome, conv, 'user b');
    s.a = sa.p;
    s.b = sb.p;
    s.a2 = (await ctx.session('a')).p;
    return `user ${s.aId} and ${s.bId}, ${conv} at seq ${c.seq}, epoch ${s.epoch}`;
  },

  'hello.unauthenticated': async (ctx) => {
    const p = await ctx.open();
    p.send({ type: 'hello', protocol: 1, token: 'conformance-invalid-token' });
    const c = await p.closeCode('close after a bad token');
    expect(!p.log.some((f) => f.type === 'welcome'), 'a bad token was answered with welcome');
    expect(c.code === 4401, `closed with ${c.code} (${ctx.short(c.reason)}), expected 4401`);
    return 'closed 4401';
  },

  'hello.first_frame': async (ctx) => {
    const p = await ctx.open();
    p.send({ type: 'ping', ref: 'conformance-early' });
    const c = await p.closeCode('close for a frame before hello');
    expect(c.code === 4401, `closed with ${c.code} (${ctx.short(c.reason)}), expected 4401`);
    return 'closed 4401';
  },

  'hello.version': async (ctx) => {
    // Another version offered as a subprotocol: closed 4406 without a hello.
    const sub = await ctx.open(['parley.v2']);
    const c1 = await sub.closeCode('close for the subprotocol parley.v2');
    expect(c1.code === 4406, `offering only parley.v2: closed with ${c1.code}, expected 4406`);
    // A client that cannot set subprotocols says its version in hello.
    const p = await ctx.open([]);
    p.send({ type: 'hello', protocol: 2, token: await ctx.token('a') });
    const c2 = await p.closeCode('close for a hello with protocol 2');
    expect(!p.log.some((f) => f.type === 'welcome'), 'a hello with protocol 2 got a welcome');
    expect(
      c2.code === 4406,
      `no subprotocol and hello.protocol 2: closed with ${c2.code}, expected 4406 (4400 would tell the client its frame was malformed, not that it needs an upgrade)`,
    );
    return 'subprotocol parley.v2 and hello protocol 2 both closed 4406';
  },

  'session.synced': async (ctx) => {
    const { p } = await ctx.session('a');
    await untilSynced(p);
    // A request sent now is answered after everything the session start sent: a second synced
    // would come before its answer.
    const ref = `hist-${ctx.rnd()}`;
    p.send({ type: 'history', ref, conversationId: ctx.conv, limit: 1 });
    await p.next((f) => (f.type === 'history' || f.type === 'error') && f.ref === ref, 'history');
    const count = p.log.filter((f) => f.type === 'synced').length;
    expect(count === 1, `${count} synced frames in one session, expected exactly one`);
    return 'one synced after welcome';
  },

  'resume.replay': async (ctx) => {
    const { conv, s } = ctx;
    const after = (s.first.seq as number) - 1;
    const { p } = await ctx.session('b', { [conv]: { seq: after, epoch: s.epoch } });
    const f = await p.next(resumeOf(conv), `replay of ${conv}`);
    expect(f.type === 'replay', `got ${ctx.short(f)} instead of a replay`);
    const msgs = (f.messages ?? []) as Record<string, unknown>[];
    const seqs = msgs.map((m) => m.seq);
    expect(
      msgs.length >= 1 && seqs[0] === after + 1,
      `replay starts at seq ${ctx.short(seqs[0])}, expected ${after + 1}`,
    );
    expect(
      seqs.every((x, i) => x === after + 1 + i),
      `replay seqs are not contiguous: ${ctx.short(seqs)}`,
    );
    expect(
      f.seq === seqs[seqs.length - 1],
      `replay.seq ${ctx.short(f.seq)} is not the last message's seq`,
    );
    expect(
      msgs[0]!.id === s.first.id,
      `the first replayed message is ${ctx.short(msgs[0]!.id)}, expected ${s.first.id}`,
    );
    return `seqs ${seqs[0]}..${seqs[seqs.length - 1]}`;
  },

  'resume.reset_epoch': async (ctx) => {
    const { conv, s } = ctx;
    const { p } = await ctx.session('b', {
      [conv]: { seq: 1, epoch: 'conformance-unknown-epoch' },
    });
    const f = await p.next(resumeOf(conv), `reset of ${conv}`);
    expect(f.type === 'reset', `got ${ctx.short(f)} instead of a reset`);
    expect(
      f.reason === 'epoch_changed',
      `reset.reason is ${ctx.short(f.reason)}, expected epoch_changed`,
    );
    expect(f.epoch === s.epoch, `reset.epoch is ${ctx.short(f.epoch)}, expected ${s.epoch}`);
    return 'reset (epoch_changed)';
  },

  'resume.at_head': async (ctx) => {
    const { conv } = ctx;
    const head = await ctx.headOf('b');
    for (const cursor of [{ seq: head.seq, epoch: head.epoch }, { seq: head.seq }]) {
      const { p, welcome } = await ctx.session('b', { [conv]: cursor });
      const now = listed(welcome, conv, 'user b');
      expect(
        now.seq === head.seq,
        'the head moved during the check: use a quiet test conversation',
      );
      const got = (await untilSynced(p)).filter(resumeOf(conv));
      expect(
        got.length === 0,
        `a cursor at the head (${JSON.stringify(cursor)}) got ${ctx.short(got[0])}; expected nothing before synced`,
      );
    }
    return `cursor ${head.seq} with and without the epoch: nothing`;
  },

  'resume.ahead': async (ctx) => {
    const { conv } = ctx;
    const head = await ctx.headOf('b');
    const { p } = await ctx.session('b', { [conv]: { seq: head.seq + 1000, epoch: head.epoch } });
    const f = await p.next(resumeOf(conv), `reset of ${conv}`);
    expect(f.type === 'reset', `a cursor ahead of the head got ${ctx.short(f)}, expected a reset`);
    expect(
      f.reason === 'epoch_changed' && f.seq === head.seq && f.epoch === head.epoch,
      `reset is ${ctx.short(f)}, expected reason epoch_changed at seq ${head.seq}, epoch ${head.epoch}`,
    );
    return `cursor ${head.seq + 1000} > head ${head.seq}: reset (epoch_changed)`;
  },

  'resume.no_cursor': async (ctx) => {
    const { conv } = ctx;
    const { p, welcome } = await ctx.session('b');
    const head = listed(welcome, conv, 'user b');
    const got = (await untilSynced(p)).filter(resumeOf(conv));
    expect(
      got.length === 0,
      `without a cursor for ${conv} (head ${head.seq}) the session start sent ${ctx.short(got[0])}; a conversation missing from the cursors is not replayed`,
    );
    return `nothing before synced (head ${head.seq})`;
  },

  'sync.at_head': async (ctx) => {
    const { conv } = ctx;
    // With a cursor at the head, the session start sends nothing for the conversation: every
    // replay of it on this socket answers a sync.
    const known = await ctx.headOf('b');
    const { p, welcome } = await ctx.session('b', { [conv]: known });
    const head = listed(welcome, conv, 'user b');
    const ref = `sync-${ctx.rnd()}`;
    p.send({ type: 'sync', ref, conversationId: conv, after: head.seq, epoch: head.epoch });
    const f = await p.next(
      (x) => (x.type === 'replay' || x.type === 'reset' || x.type === 'error') && x.ref === ref,
      `answer to sync (ref ${ref})`,
    );
    const empty = (x: Frame) =>
      x.type === 'replay' &&
      x.seq === head.seq &&
      x.epoch === head.epoch &&
      Array.isArray(x.messages) &&
      x.messages.length === 0;
    expect(
      empty(f),
      `a sync at the head got ${ctx.short(f)}, expected an empty replay at seq ${head.seq}`,
    );
    // Without a ref, a sync is answered all the same.
    p.send({ type: 'sync', conversationId: conv, after: head.seq });
    const g = await p.next(
      (x) =>
        (x.type === 'replay' || x.type === 'reset' || x.type === 'error') &&
        x.ref === undefined &&
        x.conversationId === conv,
      'answer to a sync without a ref',
    );
    expect(empty(g), `a sync without a ref got ${ctx.short(g)}, expected an empty replay`);
    return `empty replay at seq ${head.seq}, with and without a ref`;
  },

  'sync.ahead': async (ctx) => {
    const { conv } = ctx;
    const { p, welcome } = await ctx.session('b', { [conv]: await ctx.headOf('b') });
    const head = listed(welcome, conv, 'user b');
    const ref = `sync-${ctx.rnd()}`;
    p.send({ type: 'sync', ref, conversationId: conv, after: head.seq + 1000, epoch: head.epoch });
    const f = await p.next(
      (x) => (x.type === 'replay' || x.type === 'reset' || x.type === 'error') && x.ref === ref,
      `answer to sync (ref ${ref})`,
    );
    expect(
      f.type === 'reset' && f.reason === 'epoch_changed' && f.seq === head.seq,
      `a sync ahead of the head got ${ctx.short(f)}, expected a reset (epoch_changed) at seq ${head.seq}`,
    );
    return 'reset (epoch_changed)';
  },

  'auth.other_user': async (ctx) => {
    const { p } = await ctx.session('a');
    const ref = `auth-${ctx.rnd()}`;
    p.send({ type: 'auth', ref, token: await ctx.token('b') });
    const f = await p.next(
      (x) => (x.type === 'authed' || x.type === 'error') && x.ref === ref,
      `answer to auth (ref ${ref})`,
    );
    expect(
      f.type === 'error' && f.code === 'unauthenticated',
      `an auth with user b's token on user a's session got ${ctx.short(f)}, expected error unauthenticated`,
    );
    const pref = `alive-${ctx.rnd()}`;
    p.send({ type: 'ping', ref: pref });
    await p.next(
      isType('pong', (x) => x.ref === pref),
      'pong after the refused auth (the session goes on)',
    );
    return 'unauthenticated; the session goes on';
  },
} satisfies Record<string, Body>;
