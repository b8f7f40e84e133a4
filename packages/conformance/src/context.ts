/**
 * What every check works with: the run's options, the sockets and facts earlier checks left
 * behind, and small helpers (open a session, read a conversation's head, quote a frame safely).
 */
import { CheckFailure, type Frame, type Probe } from './probe.js';

/** One of the two test users. */
export type Who = 'a' | 'b';

/** A conversation's head as a `welcome` announces it. */
export interface Head {
  seq: number;
  epoch: string;
}

/** Facts and sockets earlier checks leave for later ones (set by `hello.welcome` and `send.ack`). */
export interface State {
  aId: string;
  bId: string;
  epoch: string;
  /** User a's first socket, user a's second socket, user b's socket. */
  a: Probe;
  a2: Probe;
  b: Probe;
  /** `welcome.limits` of user a's first session. */
  limits: { maxFrameBytes?: unknown; maxTextLength?: unknown };
  /** The message `send.ack` stored, and the frame that sent it. */
  first: Record<string, unknown>;
  firstSend: Record<string, unknown>;
}

export interface Ctx {
  /** The test conversation (a and b are members) and one user a is not in. */
  conv: string;
  foreign: string;
  timeoutMs: number;
  /** A custom event the server accepts (name and payload). */
  event: { name: string; payload: unknown };
  s: State;
  /** Opens a socket offering `protocols` (default `parley.v1`). */
  open(protocols?: string[]): Promise<Probe>;
  /** Opens a session: `hello` (with `cursors`, if given), then the `welcome`. */
  session(who: Who, cursors?: Record<string, unknown>): Promise<{ p: Probe; welcome: Frame }>;
  /** The test conversation's head, from a fresh session's `welcome` (closed afterwards). */
  headOf(who: Who): Promise<Head>;
  token(who: Who): Promise<string>;
  /** A short random id for refs and client ids. */
  rnd(): string;
  /** A redacted, shortened rendering of a value for a failure message. */
  short(value: unknown): string;
}

/** A check body: resolves with what it observed, throws {@link CheckFailure} when a rule broke. */
export type Body = (ctx: Ctx) => Promise<string>;

export const isType =
  (type: string, where: (f: Frame) => boolean = () => true) =>
  (f: Frame) =>
    f.type === type && where(f);

/** The answer (`ack` or `error`) to the request with `ref`. */
export const answerTo = (ref: string) => (f: Frame) =>
  (f.type === 'ack' || f.type === 'error') && f.ref === ref;

export function expect(cond: unknown, message: string): asserts cond {
  if (!cond) throw new CheckFailure(message);
}

export const msgOf = (f: Frame) => (f.message ?? {}) as Record<string, unknown>;

/** The conversation's entry of a `welcome`, or a failure naming what is missing. */
export function listed(welcome: Frame, conv: string, who: string): Head {
  const c = (
    (welcome.conversations ?? []) as { id?: unknown; seq?: unknown; epoch?: unknown }[]
  ).find((x) => x.id === conv);
  expect(c, `${who}'s welcome does not list ${JSON.stringify(conv)} (is the user a member?)`);
  expect(
    Number.isInteger(c.seq) && typeof c.epoch === 'string',
    `${who}'s welcome lists ${JSON.stringify(conv)} without an integer seq and a string epoch`,
  );
  return { seq: c.seq as number, epoch: c.epoch as string };
}

/**
 * Frames received before the first `synced` (waiting for it). The session start's replays and
 * resets all come before it, so "nothing for this conversation before `synced`" means nothing.
 */
export async function untilSynced(p: Probe): Promise<Frame[]> {
  await p.next((f) => f.type === 'synced', 'synced');
  return p.log.slice(
    0,
    p.log.findIndex((f) => f.type === 'synced'),
  );
}
