/**
 * The conformance suite: connects to any server speaking the Parley protocol with two members of
 * one conversation and checks, one by one, the guarantees of PROTOCOL.md. Each check reports
 * pass / fail (with what was expected and what was seen) / skip (a prerequisite failed). The
 * checks themselves live in `checks/` by topic; this file lists them and runs them.
 */
import { SUBPROTOCOL } from '@parley/protocol';
import { frameChecks } from './checks/frames.js';
import { lifecycleChecks } from './checks/lifecycle.js';
import { messageChecks } from './checks/messages.js';
import { sessionChecks } from './checks/session.js';
import { type Body, type Ctx, listed, type State, type Who } from './context.js';
import { CheckFailure, Probe } from './probe.js';
import { Redactor } from './redact.js';

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
  /**
   * A custom event the server accepts from clients, for the `event.*` checks.
   * @default { name: 'conformance.ping', payload: {} }
   */
  event?: { name: string; payload: unknown };
  /** Per-step timeout. @default 3000 */
  timeoutMs?: number;
  /** Subprotocols offered. @default ['parley.v1'] */
  protocols?: string[];
  /** Extra upgrade headers (e.g. a cookie). Their values are redacted from the report. */
  headers?: Record<string, string>;
  /** Run only these check ids (their prerequisites are still run). */
  only?: readonly string[];
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was observed: for a failure, what was expected and what came instead (redacted). */
  detail: string;
  ms: number;
}

export interface ConformanceReport {
  /** The server's URL (credential-like query parameters redacted). */
  url: string;
  /** True when no check failed or was skipped. */
  passed: boolean;
  results: CheckResult[];
  summary: Record<CheckStatus, number>;
}

/** Every check, in run order: id, title and the ids it needs. */
export const CHECKS = [
  ['hello.welcome', 'hello is answered by a valid welcome listing the conversation', []],
  ['hello.unauthenticated', 'a bad token is closed with 4401', []],
  ['hello.first_frame', 'a frame before hello is closed with 4401', []],
  [
    'hello.version',
    'another protocol version (subprotocol or hello.protocol) is closed with 4406',
    [],
  ],
  ['ping.pong', 'ping is answered by pong with the same ref', ['hello.welcome']],
  ['session.synced', 'the session start ends with exactly one synced', ['hello.welcome']],
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
    'ack.stream_order',
    "acks come at their message's place in the stream: seqs contiguous with others' messages",
    ['send.ack', 'fanout.members'],
  ],
  [
    'membership.forbidden',
    'a send to a conversation the user is not in is refused with forbidden',
    ['hello.welcome'],
  ],
  [
    'text.code_points',
    'text length counts code points: the limit in astral characters is accepted, one more is too_large',
    ['send.ack'],
  ],
  [
    'frame.invalid_field',
    'an invalid frame gets invalid_frame naming the field; the connection stays up',
    ['hello.welcome'],
  ],
  ['frame.unknown_type', 'an unknown frame type gets unknown_type', ['hello.welcome']],
  [
    'frame.too_large',
    'maxFrameBytes counts UTF-8 bytes: a frame of exactly the limit passes, one byte more closes 1009',
    ['hello.welcome'],
  ],
  ['typing.relay', 'typing is relayed to the other members', ['hello.welcome']],
  [
    'read.seq',
    'read seq 0 is invalid_frame; a read beyond the head counts as the head',
    ['send.ack'],
  ],
  [
    'event.target',
    'an event with both conversationId and userId, or neither, is invalid_frame',
    ['hello.welcome'],
  ],
  [
    'event.ok',
    'an event with a ref is answered ok and reaches the other member',
    ['hello.welcome'],
  ],
  [
    'event.user',
    'an event to a user who shares a conversation is delivered; to a stranger, forbidden',
    ['event.ok'],
  ],
  [
    'auth.other_user',
    "an auth with another user's token is refused (unauthenticated); the session goes on",
    ['hello.welcome'],
  ],
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
  [
    'resume.at_head',
    'a cursor at the head (same epoch, or none) gets nothing before synced',
    ['session.synced'],
  ],
  ['resume.ahead', 'a cursor ahead of the head gets reset (epoch_changed)', ['hello.welcome']],
  [
    'resume.no_cursor',
    'a conversation missing from the cursors is not replayed',
    ['session.synced', 'send.ack'],
  ],
  [
    'sync.at_head',
    'a sync at the head gets an empty replay, with or without a ref',
    ['hello.welcome'],
  ],
  ['sync.ahead', 'a sync ahead of the head gets reset (epoch_changed)', ['hello.welcome']],
  [
    'inbox.summary',
    'a hello without cursors gets summary chunks (the last more:false) with one row per conversation, and no replay',
    // resume.no_cursor checks the same "no replay" rule for user b; failing it skips this one.
    ['session.synced', 'resume.no_cursor'],
  ],
  [
    'unread.own_send',
    "sending marks read: the sender's unread is 0, the other member's counts the message",
    ['send.ack'],
  ],
  [
    'op.edit',
    'an edit is acked, fanned out, and shown in history (text, editedAt, version)',
    ['send.ack', 'fanout.members'],
  ],
  ['op.forbidden', "editing or deleting another user's message is forbidden", ['send.ack']],
  [
    'op.react_delete',
    'a reaction shows in history; a delete leaves a tombstone at the same seq',
    ['send.ack'],
  ],
  ['reply.not_found', 'a reply to a seq that does not exist gets not_found', ['send.ack']],
] as const satisfies readonly (readonly [string, string, readonly string[]])[];

export type CheckId = (typeof CHECKS)[number][0];

const bodies: Record<CheckId, Body> = {
  ...sessionChecks,
  ...messageChecks,
  ...frameChecks,
  ...lifecycleChecks,
};

/** Runs the suite against `options.url`. Never throws for a server problem: it reports it. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const conv = options.conversationId;
  const redactor = new Redactor();
  for (const [name, value] of Object.entries(options.headers ?? {}))
    redactor.addHeader(name, value);
  for (const who of ['a', 'b'] as const) {
    const t = options.tokens[who];
    if (typeof t === 'string') redactor.add(t);
  }
  const probes: Probe[] = [];

  const open = async (protocols?: string[]): Promise<Probe> => {
    const p = new Probe(options.url, {
      protocols: protocols ?? options.protocols ?? [SUBPROTOCOL],
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      timeoutMs,
      redactor,
    });
    probes.push(p);
    await p.open();
    return p;
  };
  const token = async (who: Who): Promise<string> => {
    const t = options.tokens[who];
    const value = typeof t === 'function' ? await t() : t;
    redactor.add(value);
    return value;
  };
  const session: Ctx['session'] = async (who, cursors) => {
    const p = await open();
    p.send({
      type: 'hello',
      protocol: 1,
      token: await token(who),
      ...(cursors ? { cursors } : {}),
      client: { name: '@parley/conformance' },
    });
    const welcome = await p.next((f) => f.type === 'welcome', 'welcome');
    return { p, welcome };
  };
  const ctx: Ctx = {
    conv,
    foreign: options.foreignConversationId ?? `conformance-foreign-${crypto.randomUUID()}`,
    timeoutMs,
    event: options.event ?? { name: 'conformance.ping', payload: {} },
    // Filled in by hello.welcome and send.ack; a check that reads it depends on them.
    s: {} as State,
    open,
    session,
    token,
    async headOf(who) {
      const { p, welcome } = await session(who);
      p.close();
      return listed(welcome, conv, `user ${who}`);
    },
    rnd: () => crypto.randomUUID().slice(0, 8),
    short: (v) => redactor.short(v),
  };

  const wanted = new Set<string>();
  const want = (id: string) => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const dep of CHECKS.find((c) => c[0] === id)?.[2] ?? []) want(dep);
  };
  for (const [id] of CHECKS) if (options.only === undefined || options.only.includes(id)) want(id);

  const status = new Map<string, CheckStatus>();
  const results: CheckResult[] = [];
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
          const detail = await bodies[id](ctx);
          r = { id, title, status: 'pass', detail, ms: Date.now() - started };
        } catch (err) {
          const detail =
            err instanceof CheckFailure
              ? err.message
              : `unexpected error: ${(err as Error).stack ?? String(err)}`;
          r = { id, title, status: 'fail', detail, ms: Date.now() - started };
        }
      }
      // Whatever a check quotes, a credential never reaches the report.
      r.detail = redactor.text(r.detail);
      status.set(id, r.status);
      results.push(r);
    }
  } finally {
    for (const p of probes) p.close();
  }
  const summary = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.status]++;
  return {
    url: redactor.url(options.url),
    passed: summary.fail === 0 && summary.skip === 0,
    results,
    summary,
  };
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
