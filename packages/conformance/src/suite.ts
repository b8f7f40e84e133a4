/**
 * The conformance suite: connects to any server speaking the Parley protocol with two members of
 * one conversation and checks, one by one, the guarantees of PROTOCOL.md. Each check reports
 * pass / fail (with what was expected and what was seen) / skip (a prerequisite failed).
 */
import { decodeServerFrame, SUBPROTOCOL } from '@parley/protocol';
import { CheckFailure, type Frame, Probe, short } from './probe.js';

/** A token, or a function returning one (called for every connection). */
export type TokenSource = string | (() => string | Promise<string>);

export interface ConformanceOptions {
  /** WebSocket URL of the server, e.g. `ws://localhost:8080/parley`. */
  url: string;
  /** Tokens of two different users who are both members of `conversationId`. */
  tokens: { a: TokenSource; b: TokenSource };
  /** A conversation both users belong to. Messages are sent to it. */
  conversationId: string;
  /** A conversation user `a` is NOT a member of. @default a random id nobody belongs to */
  foreignConversationId?: string;
  /** Per-step timeout. @default 3000 */
  timeoutMs?: number;
  /** Subprotocols offered. @default ['parley.v1'] */
  protocols?: string[];
  /** Extra upgrade headers (e.g. a cookie). */
  headers?: Record<string, string>;
  /** Run only these check ids (their prerequisites are still run). */
  only?: readonly string[];
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was observed: for a failure, what was expected and what came instead. */
  detail: string;
  ms: number;
}

export interface ConformanceReport {
  url: string;
  /** True when no check failed. */
  passed: boolean;
  results: CheckResult[];
  summary: Record<CheckStatus, number>;
}

/** Every check, in run order: id, title and the ids it needs. */
export const CHECKS = [
  ['hello.welcome', 'hello is answered by a valid welcome listing the conversation', []],
  ['hello.unauthenticated', 'a bad token is closed with 4401', []],
  ['hello.first_frame', 'a frame before hello is closed with 4401', []],
  ['ping.pong', 'ping is answered by pong with the same ref', ['hello.welcome']],
  ['send.ack', 'send is acked with the stored message and the next seq', ['hello.welcome']],
  ['fanout.members', 'another member receives the message', ['send.ack']],
  ['fanout.sockets', "the sender's other socket receives the message", ['send.ack']],
  ['identity.ignored', 'identity fields in the payload are ignored', ['send.ack']],
  [
    'send.idempotent',
    'a retried clientMsgId returns the original ack and is not broadcast twice',
    ['send.ack', 'fanout.members'],
  ],
  [
    'membership.forbidden',
    'a send to a conversation the user is not in is refused with forbidden',
    ['hello.welcome'],
  ],
  [
    'frame.invalid_field',
    'an invalid frame gets invalid_frame naming the field; the connection stays up',
    ['hello.welcome'],
  ],
  ['frame.unknown_type', 'an unknown frame type gets unknown_type', ['hello.welcome']],
  ['typing.relay', 'typing is relayed to the other members', ['hello.welcome']],
  [
    'resume.replay',
    'a hello cursor gets every missed message, complete and in order',
    ['send.ack'],
  ],
  [
    'resume.reset_epoch',
    'a cursor from an unknown epoch gets reset (epoch_changed)',
    ['hello.welcome'],
  ],
] as const satisfies readonly (readonly [string, string, readonly string[]])[];

export type CheckId = (typeof CHECKS)[number][0];

const isType =
  (type: string, where: (f: Frame) => boolean = () => true) =>
  (f: Frame) =>
    f.type === type && where(f);

function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new CheckFailure(message);
}

const msgOf = (f: Frame) => (f.message ?? {}) as Record<string, unknown>;

/** Runs the suite against `options.url`. Never throws for a server problem: it reports it. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const conv = options.conversationId;
  const foreign = options.foreignConversationId ?? `conformance-foreign-${crypto.randomUUID()}`;
  const probes: Probe[] = [];
  const results: CheckResult[] = [];
  const token = async (who: 'a' | 'b') => {
    const t = options.tokens[who];
    return typeof t === 'function' ? await t() : t;
  };
  const rnd = () => crypto.randomUUID().slice(0, 8);

  const open = async (): Promise<Probe> => {
    const p = new Probe(options.url, {
      protocols: options.protocols ?? [SUBPROTOCOL],
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      timeoutMs,
    });
    probes.push(p);
    await p.open();
    return p;
  };
  /** Opens a session: hello, then the welcome. */
  const session = async (who: 'a' | 'b', cursors?: Record<string, unknown>) => {
    const p = await open();
    p.send({
      type: 'hello',
      protocol: 1,
      token: await token(who),
      ...(cursors ? { cursors } : {}),
      client: { name: '@parley/conformance' },
    });
    const welcome = await p.next(isType('welcome'), 'welcome');
    return { p, welcome };
  };

  // State shared between checks.
  let aId = '';
  let bId = '';
  let epoch = '';
  let a!: Probe;
  let a2!: Probe;
  let b!: Probe;
  let first: Record<string, unknown> = {};
  let firstSend: Record<string, unknown> = {};

  const bodies: Record<CheckId, () => Promise<string>> = {
    'hello.welcome': async () => {
      const sa = await session('a');
      try {
        decodeServerFrame(JSON.stringify(sa.welcome));
      } catch (err) {
        throw new CheckFailure(
          `welcome does not match the protocol schema: ${(err as Error).message}`,
        );
      }
      const w = sa.welcome as {
        user: { id: string };
        conversations: { id: string; seq: number; epoch: string }[];
      };
      aId = w.user.id;
      const c = w.conversations.find((x) => x.id === conv);
      expect(
        c,
        `welcome.conversations does not list ${JSON.stringify(conv)} (is user a a member?)`,
      );
      epoch = c.epoch;
      const sb = await session('b');
      bId = (sb.welcome as { user?: { id?: string } }).user?.id ?? '';
      expect(
        bId !== '' && bId !== aId,
        `tokens a and b must be two different users (got ${JSON.stringify(aId)} and ${JSON.stringify(bId)})`,
      );
      expect(
        ((sb.welcome.conversations ?? []) as { id: string }[]).some((x) => x.id === conv),
        `user b's welcome does not list ${JSON.stringify(conv)}`,
      );
      a = sa.p;
      b = sb.p;
      a2 = (await session('a')).p;
      return `user ${aId} and ${bId}, ${conv} at seq ${c.seq}, epoch ${epoch}`;
    },
    'hello.unauthenticated': async () => {
      const p = await open();
      p.send({ type: 'hello', protocol: 1, token: 'conformance-invalid-token' });
      const c = await p.closeCode('close after a bad token');
      expect(!p.frames.some((f) => f.type === 'welcome'), 'a bad token was answered with welcome');
      expect(c.code === 4401, `closed with ${c.code} (${c.reason}), expected 4401`);
      return 'closed 4401';
    },
    'hello.first_frame': async () => {
      const p = await open();
      p.send({ type: 'ping', ref: 'conformance-early' });
      const c = await p.closeCode('close for a frame before hello');
      expect(c.code === 4401, `closed with ${c.code} (${c.reason}), expected 4401`);
      return 'closed 4401';
    },
    'ping.pong': async () => {
      const ref = `ping-${rnd()}`;
      a.send({ type: 'ping', ref });
      await a.next(
        isType('pong', (f) => f.ref === ref),
        `pong with ref ${ref}`,
      );
      return 'pong with the same ref';
    },
    'send.ack': async () => {
      const ref = `send-${rnd()}`;
      firstSend = {
        type: 'send',
        ref,
        conversationId: conv,
        clientMsgId: `conf-${crypto.randomUUID()}`,
        text: 'conformance: hello',
      };
      a.send(firstSend);
      const ack = await a.next(
        (f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref,
        `ack with ref ${ref}`,
      );
      expect(ack.type === 'ack', `send was answered with an error: ${short(ack)}`);
      expect(
        ack.clientMsgId === firstSend.clientMsgId,
        `ack.clientMsgId ${short(ack.clientMsgId)} ≠ ${firstSend.clientMsgId}`,
      );
      const m = msgOf(ack);
      expect(
        Number.isInteger(m.seq) && (m.seq as number) >= 1,
        `ack.message.seq is ${short(m.seq)}, expected an integer ≥ 1`,
      );
      expect(typeof m.id === 'string' && m.id !== '', `ack.message.id is ${short(m.id)}`);
      expect(m.senderId === aId, `ack.message.senderId is ${short(m.senderId)}, expected ${aId}`);
      expect(m.text === firstSend.text, `ack.message.text is ${short(m.text)}`);
      expect(m.conversationId === conv, `ack.message.conversationId is ${short(m.conversationId)}`);
      try {
        decodeServerFrame(JSON.stringify(ack));
      } catch (err) {
        throw new CheckFailure(`ack does not match the protocol schema: ${(err as Error).message}`);
      }
      first = m;
      return `seq ${m.seq}, id ${m.id}`;
    },
    'fanout.members': async () => {
      const f = await b.next(
        isType('message', (x) => msgOf(x).clientMsgId === first.clientMsgId),
        'message at user b',
      );
      const m = msgOf(f);
      expect(
        m.seq === first.seq && m.id === first.id,
        `b got seq ${short(m.seq)} id ${short(m.id)}, the ack said seq ${first.seq} id ${first.id}`,
      );
      expect(m.senderId === aId, `b sees senderId ${short(m.senderId)}, expected ${aId}`);
      return `b got seq ${m.seq}`;
    },
    'fanout.sockets': async () => {
      const f = await a2.next(
        isType('message', (x) => msgOf(x).clientMsgId === first.clientMsgId),
        "message at a's second socket",
      );
      expect(
        msgOf(f).seq === first.seq,
        `second socket got seq ${short(msgOf(f).seq)}, expected ${first.seq}`,
      );
      return `second socket got seq ${first.seq}`;
    },
    'identity.ignored': async () => {
      const ref = `imp-${rnd()}`;
      const clientMsgId = `conf-${crypto.randomUUID()}`;
      a.send({
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
      const ack = await a.next(
        (f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref,
        `ack with ref ${ref}`,
      );
      expect(ack.type === 'ack', `send was answered with an error: ${short(ack)}`);
      const m = msgOf(ack);
      expect(
        m.senderId === aId,
        `stored senderId is ${short(m.senderId)}: the payload's identity was used (expected ${aId})`,
      );
      expect(
        (m.sender as { name?: unknown } | undefined)?.name !== 'Impostor',
        "the payload's sender profile was stored",
      );
      expect(
        m.id !== 'conformance-forged-id' && m.seq !== 999_999,
        "the payload's id/seq were used",
      );
      const seen = await b.next(
        isType('message', (x) => msgOf(x).clientMsgId === clientMsgId),
        'the message at user b',
      );
      expect(
        msgOf(seen).senderId === aId,
        `b sees senderId ${short(msgOf(seen).senderId)}, expected ${aId}`,
      );
      return `stored and delivered as ${aId}`;
    },
    'send.idempotent': async () => {
      const ref = `retry-${rnd()}`;
      a.send({ ...firstSend, ref });
      const ack = await a.next(
        (f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref,
        `ack of the retry (ref ${ref})`,
      );
      expect(ack.type === 'ack', `the retry was answered with an error: ${short(ack)}`);
      const m = msgOf(ack);
      expect(
        m.seq === first.seq && m.id === first.id,
        `the retry was stored again: seq ${short(m.seq)} id ${short(m.id)}, original seq ${first.seq} id ${first.id}`,
      );
      expect(ack.duplicate === true, `ack.duplicate is ${short(ack.duplicate)}, expected true`);
      // A marker sent after the retry: b must see it without a second copy of the original first.
      const marker = `conf-${crypto.randomUUID()}`;
      a.send({
        type: 'send',
        ref: `mark-${rnd()}`,
        conversationId: conv,
        clientMsgId: marker,
        text: 'conformance: marker',
      });
      const next = await b.next(
        isType(
          'message',
          (x) => msgOf(x).clientMsgId === marker || msgOf(x).clientMsgId === first.clientMsgId,
        ),
        'the marker message at user b',
      );
      expect(
        msgOf(next).clientMsgId === marker,
        `b received the retried message again (seq ${short(msgOf(next).seq)})`,
      );
      return 'duplicate ack with the original seq; no second broadcast';
    },
    'membership.forbidden': async () => {
      const ref = `forb-${rnd()}`;
      a.send({
        type: 'send',
        ref,
        conversationId: foreign,
        clientMsgId: `conf-${crypto.randomUUID()}`,
        text: 'conformance: forbidden',
      });
      const f = await a.next(
        (x) => (x.type === 'ack' || x.type === 'error') && x.ref === ref,
        `answer with ref ${ref}`,
      );
      expect(f.type === 'error', `a send to ${foreign} was accepted: ${short(f)}`);
      expect(f.code === 'forbidden', `error code is ${short(f.code)}, expected forbidden`);
      return `forbidden for ${foreign}`;
    },
    'frame.invalid_field': async () => {
      const ref = `bad-${rnd()}`;
      a.send({
        type: 'send',
        ref,
        conversationId: 42,
        clientMsgId: `conf-${crypto.randomUUID()}`,
        text: 'x',
      });
      const f = await a.next((x) => x.type === 'error' && x.ref === ref, `error with ref ${ref}`);
      expect(f.code === 'invalid_frame', `error code is ${short(f.code)}, expected invalid_frame`);
      expect(
        f.field === 'conversationId',
        `error.field is ${short(f.field)}, expected "conversationId"`,
      );
      const pref = `alive-${rnd()}`;
      a.send({ type: 'ping', ref: pref });
      await a.next(
        isType('pong', (x) => x.ref === pref),
        'pong after the bad frame (connection must stay up)',
      );
      return 'invalid_frame, field conversationId, connection up';
    },
    'frame.unknown_type': async () => {
      const ref = `unk-${rnd()}`;
      a.send({ type: 'conformance.bogus', ref });
      const f = await a.next((x) => x.type === 'error' && x.ref === ref, `error with ref ${ref}`);
      expect(f.code === 'unknown_type', `error code is ${short(f.code)}, expected unknown_type`);
      return 'unknown_type';
    },
    'typing.relay': async () => {
      a.send({ type: 'typing', conversationId: conv, state: 'start' });
      const f = await b.next(
        isType('typing', (x) => x.conversationId === conv),
        'typing at user b',
      );
      expect(f.userId === aId, `typing.userId is ${short(f.userId)}, expected ${aId}`);
      expect(f.state === 'start', `typing.state is ${short(f.state)}`);
      a.send({ type: 'typing', conversationId: conv, state: 'stop' });
      return `b saw ${aId} typing`;
    },
    'resume.replay': async () => {
      const after = (first.seq as number) - 1;
      const { p } = await session('b', { [conv]: { seq: after, epoch } });
      const f = await p.next(
        (x) => (x.type === 'replay' || x.type === 'reset') && x.conversationId === conv,
        `replay of ${conv}`,
      );
      expect(f.type === 'replay', `got ${short(f)} instead of a replay`);
      const msgs = (f.messages ?? []) as Record<string, unknown>[];
      const seqs = msgs.map((m) => m.seq);
      expect(
        msgs.length >= 1 && seqs[0] === after + 1,
        `replay starts at seq ${short(seqs[0])}, expected ${after + 1}`,
      );
      expect(
        seqs.every((s, i) => s === after + 1 + i),
        `replay seqs are not contiguous: ${short(seqs)}`,
      );
      expect(
        f.seq === seqs[seqs.length - 1],
        `replay.seq ${short(f.seq)} is not the last message's seq`,
      );
      expect(
        msgs[0]!.id === first.id,
        `the first replayed message is ${short(msgs[0]!.id)}, expected ${first.id}`,
      );
      return `seqs ${seqs[0]}..${seqs[seqs.length - 1]}`;
    },
    'resume.reset_epoch': async () => {
      const { p } = await session('b', { [conv]: { seq: 1, epoch: 'conformance-unknown-epoch' } });
      const f = await p.next(
        (x) => (x.type === 'replay' || x.type === 'reset') && x.conversationId === conv,
        `reset of ${conv}`,
      );
      expect(f.type === 'reset', `got ${short(f)} instead of a reset`);
      expect(
        f.reason === 'epoch_changed',
        `reset.reason is ${short(f.reason)}, expected epoch_changed`,
      );
      expect(f.epoch === epoch, `reset.epoch is ${short(f.epoch)}, expected the current ${epoch}`);
      return 'reset (epoch_changed)';
    },
  };

  const wanted = new Set<string>();
  const want = (id: string) => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const dep of CHECKS.find((c) => c[0] === id)?.[2] ?? []) want(dep);
  };
  for (const [id] of CHECKS) if (options.only === undefined || options.only.includes(id)) want(id);

  const status = new Map<string, CheckStatus>();
  try {
    for (const [id, title, deps] of CHECKS) {
      if (!wanted.has(id)) continue;
      const started = Date.now();
      const missing = (deps as readonly string[]).filter((d) => status.get(d) !== 'pass');
      let r: CheckResult;
      if (missing.length > 0) {
        r = { id, title, status: 'skip', detail: `needs ${missing.join(', ')}`, ms: 0 };
      } else {
        try {
          const detail = await bodies[id]();
          r = { id, title, status: 'pass', detail, ms: Date.now() - started };
        } catch (err) {
          const detail =
            err instanceof CheckFailure
              ? err.message
              : `unexpected error: ${(err as Error).stack ?? String(err)}`;
          r = { id, title, status: 'fail', detail, ms: Date.now() - started };
        }
      }
      status.set(id, r.status);
      results.push(r);
    }
  } finally {
    for (const p of probes) p.close();
  }
  const summary = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.status]++;
  return { url: options.url, passed: summary.fail === 0 && summary.skip === 0, results, summary };
}

/** A human-readable report: one line per check, then the totals. */
export function formatReport(report: ConformanceReport): string {
  const mark = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
  const lines = [`Parley conformance: ${report.url}`, ''];
  for (const r of report.results) {
    lines.push(`${mark[r.status]}  ${r.id.padEnd(22)} ${r.title}`);
    lines.push(`      ${r.detail}`);
  }
  const s = report.summary;
  lines.push(
    '',
    `${s.pass} passed, ${s.fail} failed, ${s.skip} skipped — ${report.passed ? 'CONFORMS' : 'DOES NOT CONFORM'}`,
  );
  return lines.join('\n');
}
