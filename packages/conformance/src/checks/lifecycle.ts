/**
 * Issue 16 (PROTOCOL.md, "Connection lifecycle" steps 5-6, "Unread counts", "Message lifecycle"):
 * the inbox in `summary` frames, server-side unread counts, edit/delete/react operations and
 * replies.
 */
import {
  answerTo,
  type Body,
  type Ctx,
  expect,
  isType,
  listed,
  msgOf,
  untilSynced,
} from '../context.js';
import type { Frame, Probe } from '../probe.js';

type Msg = Record<string, unknown>;

/** Sends `frame` (with a fresh ref and clientMsgId) on `p`; resolves with the answer. */
async function request(ctx: Ctx, p: Probe, frame: Msg): Promise<Frame> {
  const ref = `${String(frame.type)}-${ctx.rnd()}`;
  p.send({ ...frame, ref, conversationId: ctx.conv, clientMsgId: `conf-${crypto.randomUUID()}` });
  return p.next(answerTo(ref), `answer to ${String(frame.type)} with ref ${ref}`);
}

/** A fresh message of user a; the ack's message. */
async function post(ctx: Ctx, text: string): Promise<Msg> {
  const ack = await request(ctx, ctx.s.a, { type: 'send', text });
  expect(ack.type === 'ack', `send was answered with an error: ${ctx.short(ack)}`);
  return msgOf(ack);
}

/** The newest history page's entry for `seq`, as user a fetches it. */
async function fromHistory(ctx: Ctx, seq: unknown): Promise<Msg | undefined> {
  const ref = `hist-${ctx.rnd()}`;
  ctx.s.a.send({ type: 'history', ref, conversationId: ctx.conv, limit: 50 });
  const page = await ctx.s.a.next(
    (f) => (f.type === 'history' || f.type === 'error') && f.ref === ref,
    `history page with ref ${ref}`,
  );
  expect(page.type === 'history', `history was answered with ${ctx.short(page)}`);
  return ((page.messages ?? []) as Msg[]).find((m) => m.seq === seq);
}

export const lifecycleChecks = {
  'inbox.summary': async (ctx) => {
    const { p, welcome } = await ctx.session('a');
    const start = await untilSynced(p);
    p.close();
    const after = start.slice(start.indexOf(welcome) + 1);
    const resumed = after.filter((f) => f.type === 'replay' || f.type === 'reset');
    expect(
      resumed.length === 0,
      `a hello without cursors got ${ctx.short(resumed[0])} before synced — conversations without a cursor are not replayed`,
    );
    const chunks = after.filter((f) => f.type === 'summary');
    expect(chunks.length > 0, 'no summary frame between welcome and synced');
    expect(
      chunks.at(-1)?.more === false && chunks.slice(0, -1).every((f) => f.more === true),
      `the ${chunks.length} summary chunk(s) have more: ${chunks.map((f) => ctx.short(f.more)).join(', ')}; expected only the last false — the inbox ends with more: false`,
    );
    const rows = chunks.flatMap((f) => (f.conversations ?? []) as Msg[]);
    const convs = (welcome.conversations ?? []) as Msg[];
    for (const c of convs) {
      const mine = rows.filter((r) => r.id === c.id);
      expect(
        mine.length === 1,
        `${ctx.short(c.id)} appears in ${mine.length} summary rows, expected exactly one`,
      );
      const last = mine[0]?.lastMessage as Msg | undefined;
      const head = listed(welcome, String(c.id), 'user a');
      expect(
        last === undefined || (typeof last.seq === 'number' && last.seq <= head.seq),
        `the summary's last message of ${ctx.short(c.id)} has seq ${ctx.short(last?.seq)}, after the welcome head ${head.seq}`,
      );
    }
    return `${chunks.length} summary chunk(s), ${rows.length} row(s), no replay`;
  },

  'unread.own_send': async (ctx) => {
    const { conv } = ctx;
    const m = await post(ctx, 'conformance: own send');
    const entry = async (who: 'a' | 'b') => {
      const { p, welcome } = await ctx.session(who);
      p.close();
      listed(welcome, conv, `user ${who}`);
      return ((welcome.conversations ?? []) as Msg[]).find((c) => c.id === conv) as Msg;
    };
    const a = await entry('a');
    expect(
      a.unread === 0,
      `after a's own send (seq ${m.seq}), a's welcome says unread ${ctx.short(a.unread)}, expected 0 — sending marks read`,
    );
    const b = await entry('b');
    const readPast = typeof b.readSeq === 'number' && b.readSeq >= (m.seq as number);
    expect(
      readPast || (typeof b.unread === 'number' && b.unread >= 1),
      `b (readSeq ${ctx.short(b.readSeq)}) has unread ${ctx.short(b.unread)} after a's message seq ${m.seq}, expected ≥ 1`,
    );
    return `a unread 0; b unread ${b.unread}`;
  },

  'op.edit': async (ctx) => {
    const { s } = ctx;
    const m = await post(ctx, 'conformance: to edit');
    const text = 'conformance: edited';
    const ack = await request(ctx, s.a, { type: 'edit', target: m.seq, text });
    expect(ack.type === 'ack', `an edit of a's own message got ${ctx.short(ack)}, expected ack`);
    const op = msgOf(ack);
    expect(
      op.kind === 'edit' && op.target === m.seq,
      `the edit's ack holds kind ${ctx.short(op.kind)} target ${ctx.short(op.target)}, expected kind edit target ${m.seq}`,
    );
    await s.b.next(
      isType('message', (f) => msgOf(f).clientMsgId === op.clientMsgId),
      'the edit at user b as a message',
    );
    const h = await fromHistory(ctx, m.seq);
    expect(h, `the history page lacks the edited message seq ${m.seq}`);
    expect(
      h.text === text && typeof h.editedAt === 'number' && h.version === op.seq,
      `history shows the edited message as text ${ctx.short(h.text)} editedAt ${ctx.short(h.editedAt)} version ${ctx.short(h.version)}; expected ${ctx.short(text)}, a time, version ${op.seq} — messages carry their current state`,
    );
    return `edit seq ${op.seq} applied in history`;
  },

  'op.forbidden': async (ctx) => {
    const { s } = ctx;
    for (const op of [
      { type: 'edit', target: s.first.seq, text: 'conformance: not mine' },
      { type: 'delete', target: s.first.seq },
    ]) {
      const f = await request(ctx, s.b, op);
      expect(
        f.type === 'error' && f.code === 'forbidden',
        `b's ${op.type} of a's message got ${ctx.short(f)}, expected error forbidden`,
      );
    }
    return "edit and delete of another user's message forbidden";
  },

  'op.react_delete': async (ctx) => {
    const { s } = ctx;
    const m = await post(ctx, 'conformance: to react to');
    const r = await request(ctx, s.b, { type: 'react', target: m.seq, emoji: '👍', on: true });
    expect(r.type === 'ack', `b's reaction got ${ctx.short(r)}, expected ack`);
    const reacted = await fromHistory(ctx, m.seq);
    const who = (reacted?.reactions as Record<string, unknown> | undefined)?.['👍'];
    expect(
      Array.isArray(who) && who.includes(s.bId),
      `history shows reactions ${ctx.short(reacted?.reactions)} on seq ${m.seq}, expected b under 👍`,
    );
    const d = await request(ctx, s.a, { type: 'delete', target: m.seq });
    expect(d.type === 'ack', `a's delete of its own message got ${ctx.short(d)}, expected ack`);
    const t = await fromHistory(ctx, m.seq);
    expect(
      t !== undefined,
      `no message with seq ${m.seq} in history after its delete — a delete leaves a tombstone that keeps its seq`,
    );
    expect(
      t.deleted === true && t.text === '' && t.id === m.id,
      `history shows the deleted message as ${ctx.short(t)}, expected deleted: true, text "" and id ${ctx.short(m.id)}`,
    );
    return `reaction by b, then a tombstone at seq ${m.seq}`;
  },

  'reply.not_found': async (ctx) => {
    const head = await ctx.headOf('a');
    const replyTo = head.seq + 1000;
    const f = await request(ctx, ctx.s.a, {
      type: 'send',
      text: 'conformance: reply',
      replyTo,
    });
    expect(
      f.type === 'error' && f.code === 'not_found',
      `a send replying to seq ${replyTo} (head ${head.seq}) got ${ctx.short(f)}, expected error not_found`,
    );
    return `replyTo ${replyTo} not_found`;
  },
} satisfies Record<string, Body>;
