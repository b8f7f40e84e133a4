/**
 * Frames and signals (PROTOCOL.md, "Frames", "Errors", "Answers"): ping, invalid and unknown
 * frames, the frame size limit in UTF-8 bytes, typing, and custom events.
 */
import { type Body, expect, isType } from '../context.js';
import type { Frame, Probe } from '../probe.js';

/** A `ping` padded with an ignored field to exactly `bytes` UTF-8 bytes, in few UTF-16 units. */
function paddedPing(ref: string, bytes: number): string {
  const base = JSON.stringify({ type: 'ping', ref, pad: '' });
  const room = bytes - Buffer.byteLength(base);
  if (room < 0) throw new Error(`cannot build a ${bytes}-byte frame`);
  // '€' is one UTF-16 unit and three UTF-8 bytes.
  const pad = '€'.repeat(Math.floor(room / 3)) + 'a'.repeat(room % 3);
  return JSON.stringify({ type: 'ping', ref, pad });
}

const answer = (p: Probe, ref: string, what: string) =>
  p.next((f: Frame) => (f.type === 'ok' || f.type === 'error') && f.ref === ref, what);

export const frameChecks = {
  'ping.pong': async (ctx) => {
    const ref = `ping-${ctx.rnd()}`;
    ctx.s.a.send({ type: 'ping', ref });
    await ctx.s.a.next(
      isType('pong', (f) => f.ref === ref),
      `pong with ref ${ref}`,
    );
    return 'pong with the same ref';
  },

  'frame.invalid_field': async (ctx) => {
    const { a } = ctx.s;
    const ref = `bad-${ctx.rnd()}`;
    a.send({
      type: 'send',
      ref,
      conversationId: 42,
      clientMsgId: `conf-${crypto.randomUUID()}`,
      text: 'x',
    });
    const f = await a.next((x) => x.type === 'error' && x.ref === ref, `error with ref ${ref}`);
    expect(
      f.code === 'invalid_frame',
      `error code is ${ctx.short(f.code)}, expected invalid_frame`,
    );
    expect(
      f.field === 'conversationId',
      `error.field is ${ctx.short(f.field)}, expected "conversationId"`,
    );
    const pref = `alive-${ctx.rnd()}`;
    a.send({ type: 'ping', ref: pref });
    await a.next(
      isType('pong', (x) => x.ref === pref),
      'pong after the bad frame (connection must stay up)',
    );
    return 'invalid_frame, field conversationId, connection up';
  },

  'frame.unknown_type': async (ctx) => {
    const { a } = ctx.s;
    const ref = `unk-${ctx.rnd()}`;
    a.send({ type: 'conformance.bogus', ref });
    const f = await a.next((x) => x.type === 'error' && x.ref === ref, `error with ref ${ref}`);
    expect(f.code === 'unknown_type', `error code is ${ctx.short(f.code)}, expected unknown_type`);
    return 'unknown_type';
  },

  'frame.too_large': async (ctx) => {
    const max = ctx.s.limits.maxFrameBytes;
    expect(
      Number.isInteger(max) && (max as number) > 100,
      'welcome.limits.maxFrameBytes is missing',
    );
    const { p } = await ctx.session('a');
    const fits = paddedPing(`fits-${ctx.rnd()}`, max as number);
    p.sendRaw(fits);
    const ref = (JSON.parse(fits) as { ref: string }).ref;
    await p.next(
      isType('pong', (f) => f.ref === ref),
      `pong to a frame of exactly ${max} bytes`,
    );
    // One byte more, in fewer UTF-16 units than the limit: only a byte count refuses it.
    const over = paddedPing(`over-${ctx.rnd()}`, (max as number) + 1);
    p.sendRaw(over);
    const c = await p.closeCode('close for a frame over maxFrameBytes');
    expect(
      c.code === 1009,
      `a frame of ${(max as number) + 1} UTF-8 bytes (${over.length} UTF-16 units) closed with ${c.code}, expected 1009`,
    );
    return `${max} bytes accepted; ${(max as number) + 1} bytes (${over.length} UTF-16 units) closed 1009`;
  },

  'typing.relay': async (ctx) => {
    const { conv, s } = ctx;
    s.a.send({ type: 'typing', conversationId: conv, state: 'start' });
    const f = await s.b.next(
      isType('typing', (x) => x.conversationId === conv),
      'typing at user b',
    );
    expect(f.userId === s.aId, `typing.userId is ${ctx.short(f.userId)}, expected ${s.aId}`);
    expect(f.state === 'start', `typing.state is ${ctx.short(f.state)}`);
    s.a.send({ type: 'typing', conversationId: conv, state: 'stop' });
    return `b saw ${s.aId} typing`;
  },

  'event.target': async (ctx) => {
    const { conv, s } = ctx;
    const { name, payload } = ctx.event;
    for (const [what, target] of [
      ['both conversationId and userId', { conversationId: conv, userId: s.bId }],
      ['neither conversationId nor userId', {}],
    ] as const) {
      const ref = `target-${ctx.rnd()}`;
      s.a.send({ type: 'event', ref, name, payload, ...target });
      const f = await answer(s.a, ref, `answer with ref ${ref}`);
      expect(
        f.type === 'error' && f.code === 'invalid_frame',
        `an event with ${what} got ${ctx.short(f)}, expected invalid_frame`,
      );
    }
    return 'both and neither: invalid_frame';
  },

  'event.ok': async (ctx) => {
    const { conv, s } = ctx;
    const { name, payload } = ctx.event;
    const ref = `event-${ctx.rnd()}`;
    s.a.send({ type: 'event', ref, name, conversationId: conv, payload });
    const f = await answer(s.a, ref, `ok with ref ${ref}`);
    expect(
      f.type === 'ok',
      `an event with a ref got ${ctx.short(f)}, expected ok${f.code === 'not_found' ? ` (does the server accept the event ${JSON.stringify(name)}? see --event)` : ''}`,
    );
    const got = await s.b.next(
      isType('event', (x) => x.name === name && x.conversationId === conv),
      `the event at user b`,
    );
    expect(got.from === s.aId, `event.from is ${ctx.short(got.from)}, expected ${s.aId}`);
    return `ok; b got ${name} from ${s.aId}`;
  },

  'event.user': async (ctx) => {
    const { s } = ctx;
    const { name, payload } = ctx.event;
    const ref = `to-b-${ctx.rnd()}`;
    s.a.send({ type: 'event', ref, name, userId: s.bId, payload });
    const f = await answer(s.a, ref, `ok with ref ${ref}`);
    expect(f.type === 'ok', `an event to user b (who shares the conversation) got ${ctx.short(f)}`);
    const got = await s.b.next(
      isType('event', (x) => x.name === name && x.conversationId === undefined),
      'the user event at user b',
    );
    expect(got.from === s.aId, `event.from is ${ctx.short(got.from)}, expected ${s.aId}`);
    const stranger = `conformance-stranger-${crypto.randomUUID()}`;
    const ref2 = `to-stranger-${ctx.rnd()}`;
    s.a.send({ type: 'event', ref: ref2, name, userId: stranger, payload });
    const g = await answer(s.a, ref2, `answer with ref ${ref2}`);
    expect(
      g.type === 'error' && g.code === 'forbidden',
      `an event to a user who shares no conversation got ${ctx.short(g)}, expected forbidden`,
    );
    return 'delivered to a member of a shared conversation; forbidden for a stranger';
  },
} satisfies Record<string, Body>;
