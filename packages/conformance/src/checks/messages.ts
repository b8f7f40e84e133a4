/**
 * Messages (PROTOCOL.md, "Delivery guarantees"): send and ack, fan-out, identity, idempotency, the
 * ack's place in the stream, membership, the text length unit, and read positions.
 */
import { decodeServerFrame } from '@parley/protocol';
import { answerTo, type Body, expect, isType, msgOf } from '../context.js';
import { CheckFailure, type Probe } from '../probe.js';

export const messageChecks = {
  'send.ack': async (ctx) => {
    const { conv, s } = ctx;
    const ref = `send-${ctx.rnd()}`;
    s.firstSend = {
      type: 'send',
      ref,
      conversationId: conv,
      clientMsgId: `conf-${crypto.randomUUID()}`,
      text: 'conformance: hello',
    };
    s.a.send(s.firstSend);
    const ack = await s.a.next(answerTo(ref), `ack with ref ${ref}`);
    expect(ack.type === 'ack', `send was answered with an error: ${ctx.short(ack)}`);
    expect(
      ack.clientMsgId === s.firstSend.clientMsgId,
      `ack.clientMsgId ${ctx.short(ack.clientMsgId)} ≠ ${s.firstSend.clientMsgId}`,
    );
    const m = msgOf(ack);
    expect(
      Number.isInteger(m.seq) && (m.seq as number) >= 1,
      `ack.message.seq is ${ctx.short(m.seq)}, expected an integer ≥ 1`,
    );
    expect(typeof m.id === 'string' && m.id !== '', `ack.message.id is ${ctx.short(m.id)}`);
    expect(
      m.senderId === s.aId,
      `ack.message.senderId is ${ctx.short(m.senderId)}, expected ${s.aId}`,
    );
    expect(m.text === s.firstSend.text, `ack.message.text is ${ctx.short(m.text)}`);
    expect(
      m.conversationId === conv,
      `ack.message.conversationId is ${ctx.short(m.conversationId)}`,
    );
    try {
      decodeServerFrame(JSON.stringify(ack));
    } catch (err) {
      throw new CheckFailure(
        `ack does not match the protocol schema: ${ctx.short((err as Error).message)}`,
      );
    }
    s.first = m;
    return `seq ${m.seq}, id ${m.id}`;
  },

  'fanout.members': async (ctx) => {
    const { s } = ctx;
    const f = await s.b.next(
      isType('message', (x) => msgOf(x).clientMsgId === s.first.clientMsgId),
      'message at user b',
    );
    const m = msgOf(f);
    expect(
      m.seq === s.first.seq && m.id === s.first.id,
      `b got seq ${ctx.short(m.seq)} id ${ctx.short(m.id)}, the ack said seq ${s.first.seq} id ${s.first.id}`,
    );
    expect(m.senderId === s.aId, `b sees senderId ${ctx.short(m.senderId)}, expected ${s.aId}`);
    return `b got seq ${m.seq}`;
  },

  'fanout.sockets': async (ctx) => {
    const { s } = ctx;
    const f = await s.a2.next(
      isType('message', (x) => msgOf(x).clientMsgId === s.first.clientMsgId),
      "message at a's second socket",
    );
    expect(
      msgOf(f).seq === s.first.seq,
      `second socket got seq ${ctx.short(msgOf(f).seq)}, expected ${s.first.seq}`,
    );
    return `second socket got seq ${s.first.seq}`;
  },

  'identity.ignored': async (ctx) => {
    const { conv, s } = ctx;
    const ref = `imp-${ctx.rnd()}`;
    const clientMsgId = `conf-${crypto.randomUUID()}`;
    s.a.send({
      type: 'send',
      ref,
      conversationId: conv,
      clientMsgId,
      text: 'conformance: impostor',
      senderId: 'conformance-impostor',
      userId: 'conformance-impostor',
      from: 'conformance-impostor',
      sender: { name: 'Impostor' },
      seq: 999_999,
      id: 'conformance-forged-id',
    });
    const ack = await s.a.next(answerTo(ref), `ack with ref ${ref}`);
    expect(ack.type === 'ack', `send was answered with an error: ${ctx.short(ack)}`);
    const m = msgOf(ack);
    expect(
      m.senderId === s.aId,
      `stored senderId is ${ctx.short(m.senderId)}: the payload's identity was used (expected ${s.aId})`,
    );
    expect(
      (m.sender as { name?: unknown } | undefined)?.name !== 'Impostor',
      "the payload's sender profile was stored",
    );
    expect(m.id !== 'conformance-forged-id' && m.seq !== 999_999, "the payload's id/seq were used");
    const seen = await s.b.next(
      isType('message', (x) => msgOf(x).clientMsgId === clientMsgId),
      'the message at user b',
    );
    expect(
      msgOf(seen).senderId === s.aId,
      `b sees senderId ${ctx.short(msgOf(seen).senderId)}, expected ${s.aId}`,
    );
    return `stored and delivered as ${s.aId}`;
  },

  'send.idempotent': async (ctx) => {
    const { conv, s } = ctx;
    const ref = `retry-${ctx.rnd()}`;
    s.a.send({ ...s.firstSend, ref });
    const ack = await s.a.next(answerTo(ref), `ack of the retry (ref ${ref})`);
    expect(ack.type === 'ack', `the retry was answered with an error: ${ctx.short(ack)}`);
    const m = msgOf(ack);
    expect(
      m.seq === s.first.seq && m.id === s.first.id,
      `the retry was stored again: seq ${ctx.short(m.seq)} id ${ctx.short(m.id)}, original seq ${s.first.seq} id ${s.first.id}`,
    );
    expect(ack.duplicate === true, `ack.duplicate is ${ctx.short(ack.duplicate)}, expected true`);
    // A marker sent after the retry: b must see it without a second copy of the original first.
    const marker = `conf-${crypto.randomUUID()}`;
    s.a.send({
      type: 'send',
      ref: `mark-${ctx.rnd()}`,
      conversationId: conv,
      clientMsgId: marker,
      text: 'conformance: marker',
    });
    const next = await s.b.next(
      isType(
        'message',
        (x) => msgOf(x).clientMsgId === marker || msgOf(x).clientMsgId === s.first.clientMsgId,
      ),
      'the marker message at user b',
    );
    expect(
      msgOf(next).clientMsgId === marker,
      `b received the retried message again (seq ${ctx.short(msgOf(next).seq)})`,
    );
    return 'duplicate ack with the original seq; no second broadcast';
  },

  'ack.stream_order': async (ctx) => {
    const { conv } = ctx;
    const head = await ctx.headOf('a');
    const cursors = { [conv]: head };
    const pa = (await ctx.session('a', cursors)).p;
    const pb = (await ctx.session('b', cursors)).p;
    const send = (p: Probe) => {
      const clientMsgId = `conf-${crypto.randomUUID()}`;
      p.send({
        type: 'send',
        ref: `order-${ctx.rnd()}`,
        conversationId: conv,
        clientMsgId,
        text: 'conformance: order',
      });
      return clientMsgId;
    };
    const acked = async (p: Probe, id: string) => {
      const f = await p.next(
        (x) => (x.type === 'ack' || x.type === 'error') && x.clientMsgId === id,
        `the ack of ${id}`,
      );
      expect(f.type === 'ack', `a send was answered with an error: ${ctx.short(f)}`);
    };
    const theirs: string[] = [];
    // 1. Alternating, each send stored before the next: a's send is stored right after b's, whose
    //    message may still be on its way to a — a's ack must come after it.
    for (let i = 0; i < 3; i++) {
      const t = send(pb);
      theirs.push(t);
      await acked(pb, t);
      await acked(pa, send(pa));
    }
    // 2. Both at once, so that stores interleave with fan-out.
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) {
      theirs.push(send(pb));
      mine.push(send(pa));
    }
    for (const id of mine) await acked(pa, id);
    for (const id of theirs)
      await pa.next(
        isType('message', (x) => msgOf(x).clientMsgId === id),
        `b's message ${id} at user a`,
      );
    const seen = pa.log
      .filter((f) => (f.type === 'ack' || f.type === 'message') && msgOf(f).conversationId === conv)
      .map((f) => ({ seq: msgOf(f).seq as number, type: f.type as string }))
      .filter((x) => x.seq > head.seq);
    const want = Array.from({ length: 16 }, (_, i) => head.seq + 1 + i);
    expect(
      seen.map((x) => x.seq).join() === want.join(),
      `user a's socket saw ${seen.map((x) => `${x.type} ${x.seq}`).join(', ')}; expected seqs ${want[0]}..${want.at(-1)} in order — an ack comes at its message's place in the stream and counts toward the cursor`,
    );
    return `acks and messages in seq order ${want[0]}..${want.at(-1)}`;
  },

  'membership.forbidden': async (ctx) => {
    const { foreign, s } = ctx;
    const ref = `forb-${ctx.rnd()}`;
    s.a.send({
      type: 'send',
      ref,
      conversationId: foreign,
      clientMsgId: `conf-${crypto.randomUUID()}`,
      text: 'conformance: forbidden',
    });
    const f = await s.a.next(answerTo(ref), `answer with ref ${ref}`);
    expect(f.type === 'error', `a send to ${foreign} was accepted: ${ctx.short(f)}`);
    expect(f.code === 'forbidden', `error code is ${ctx.short(f.code)}, expected forbidden`);
    return `forbidden for ${foreign}`;
  },

  'text.code_points': async (ctx) => {
    const { conv, s } = ctx;
    const max = s.limits.maxTextLength;
    const frameBytes = s.limits.maxFrameBytes;
    expect(
      Number.isInteger(max) && Number.isInteger(frameBytes),
      'welcome.limits lacks maxTextLength or maxFrameBytes',
    );
    // `max` code points, `astral` of them outside the BMP (two UTF-16 units, four UTF-8 bytes
    // each), as many as fit the frame limit: more UTF-16 units than `max`.
    const astral = Math.min(
      max as number,
      Math.floor(((frameBytes as number) - 400 - (max as number)) / 3),
    );
    expect(astral >= 1, `maxFrameBytes ${frameBytes} leaves no room to test ${max} code points`);
    const text = `${'a'.repeat((max as number) - astral)}${'😀'.repeat(astral)}`;
    const send = (t: string) => {
      const ref = `len-${ctx.rnd()}`;
      s.a.send({
        type: 'send',
        ref,
        conversationId: conv,
        clientMsgId: `conf-${crypto.randomUUID()}`,
        text: t,
      });
      return s.a.next(answerTo(ref), `answer with ref ${ref}`);
    };
    const ok = await send(text);
    expect(
      ok.type === 'ack',
      `a text of ${max} code points (${text.length} UTF-16 units) was refused: ${ctx.short(ok)} — lengths count code points`,
    );
    expect(msgOf(ok).text === text, 'the stored text differs from the text sent');
    const over = await send(`${text}a`);
    expect(
      over.type === 'error' && over.code === 'too_large' && over.field === 'text',
      `a text of ${(max as number) + 1} code points got ${ctx.short(over)}, expected error too_large (field text)`,
    );
    return `${max} code points (${text.length} UTF-16 units) accepted, ${(max as number) + 1} too_large`;
  },

  'read.seq': async (ctx) => {
    const { conv, s } = ctx;
    // A fresh head, so that b's read position is certainly behind it.
    const ref = `head-${ctx.rnd()}`;
    s.a.send({
      type: 'send',
      ref,
      conversationId: conv,
      clientMsgId: `conf-${crypto.randomUUID()}`,
      text: 'conformance: read me',
    });
    const ack = await s.a.next(answerTo(ref), `ack with ref ${ref}`);
    expect(ack.type === 'ack', `send was answered with an error: ${ctx.short(ack)}`);
    const head = msgOf(ack).seq as number;
    const zero = `read0-${ctx.rnd()}`;
    s.b.send({ type: 'read', ref: zero, conversationId: conv, seq: 0 });
    const e = await s.b.next((x) => x.type === 'error' && x.ref === zero, `error with ref ${zero}`);
    expect(
      e.code === 'invalid_frame' && e.field === 'seq',
      `read seq 0 got ${ctx.short(e)}, expected invalid_frame (field seq)`,
    );
    s.b.send({ type: 'read', ref: `read-${ctx.rnd()}`, conversationId: conv, seq: head + 1000 });
    const r = await s.a.next(
      isType('read', (x) => x.conversationId === conv && x.userId === s.bId),
      `b's read at user a`,
    );
    expect(
      r.seq === head,
      `a read of ${head + 1000} (head ${head}) reached a as seq ${ctx.short(r.seq)}, expected the head`,
    );
    return `seq 0 invalid_frame; ${head + 1000} read as the head ${head}`;
  },
} satisfies Record<string, Body>;
