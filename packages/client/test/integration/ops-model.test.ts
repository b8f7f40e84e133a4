/**
 * Model-based test of the message lifecycle (issue 16), fast-check `fc.commands` +
 * `fc.asyncModelRun`, against the REAL hub: three devices (alice on two, bob on one) mix sends,
 * replies, edits, deletes and reactions (on their own messages and on others' — refused
 * `forbidden` and rolled back) with cut links on either end and hub restarts; the hub replays at
 * most 3 messages, so a device that missed more gets a `reset` and pages back in. At the end
 * every device holds every message of the conversation in the hub's final state (text, data,
 * tombstone, reactions, editedAt, version, replyTo): every device converges.
 *
 * Fixed seeds in CI (`PARLEY_SEED` replays one; `PARLEY_MODEL_RUNS` sets the runs per seed); a
 * failure prints the seed, the path and the commands.
 */
import type { Message } from '@parley/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  type Conversation,
  createClient,
  DisconnectedError,
  type ParleyClient,
  type StoredMessage,
} from '../../src/index.js';
import { startHub, type TestHub } from './hub.js';

const SEEDS = process.env.PARLEY_SEED ? [Number(process.env.PARLEY_SEED)] : [16, 1616];
const RUNS = Number(process.env.PARLEY_MODEL_RUNS ?? 10);
const USERS = ['alice', 'alice', 'bob'] as const;
const EMOJI = ['👍', '🎉'] as const;

interface World {
  hub: TestHub;
  clients: ParleyClient[];
  /** Every send and operation's promise, settled or not. */
  promises: Promise<unknown>[];
  counters: Record<string, number>;
}

type Cmd = fc.AsyncCommand<object, World>;

const bump = (w: World, k: string) => {
  w.counters[k] = (w.counters[k] ?? 0) + 1;
};
const room = (w: World, d: number): Conversation => w.clients[d]!.conversation('room');
/** Stored, not deleted messages a device shows. */
const live = (ms: readonly ClientMessage[]) =>
  ms.filter((m): m is StoredMessage => m.status === 'sent' && m.deleted !== true);

function track(w: World, what: string, p: Promise<unknown>) {
  w.promises.push(
    p.then(
      () => bump(w, `${what}.ok`),
      (err: { code?: string }) => bump(w, `${what}.${err.code ?? 'error'}`),
    ),
  );
}

class Send implements Cmd {
  constructor(
    readonly d: number,
    readonly reply: number | undefined,
  ) {}
  check = () => true;
  async run(_m: object, w: World) {
    const c = room(w, this.d);
    const target = this.reply === undefined ? undefined : live(c.messages)[this.reply];
    bump(w, 'sent');
    const text = `${USERS[this.d]}#${w.counters.sent}`;
    track(w, 'send', c.send(text, target ? { replyTo: target.seq } : {}));
  }
  toString = () => `send(${this.d}${this.reply === undefined ? '' : `, reply ${this.reply}`})`;
}

class Op implements Cmd {
  constructor(
    readonly d: number,
    readonly kind: 'edit' | 'delete' | 'react',
    readonly pick: number,
    readonly emoji: number,
  ) {}
  check = () => true;
  async run(_m: object, w: World) {
    const c = room(w, this.d);
    const held = live(c.messages);
    if (held.length === 0) return;
    const t = held[this.pick % held.length]!;
    const p =
      this.kind === 'edit'
        ? c.edit(t.seq, `${t.text}'`, { data: { by: this.d } })
        : this.kind === 'delete'
          ? c.delete(t.seq)
          : c.react(t.seq, EMOJI[this.emoji]!);
    track(w, this.kind, p);
  }
  toString = () => `${this.kind}(${this.d}, #${this.pick})`;
}

class Cut implements Cmd {
  constructor(readonly end: 'server' | 'client') {}
  check = () => true;
  async run(_m: object, w: World) {
    if (this.end === 'server') w.hub.killServerSockets();
    else w.hub.killClientSockets();
    bump(w, `cut.${this.end}`);
  }
  toString = () => `cut(${this.end})`;
}

class Restart implements Cmd {
  check = () => true;
  async run(_m: object, w: World) {
    await w.hub.restart({ crash: true });
    bump(w, 'restart');
  }
  toString = () => 'restart';
}

/** Lets the hub and the clients work a little between commands. */
class Settle implements Cmd {
  check = () => true;
  async run() {
    await new Promise((r) => setTimeout(r, 20));
  }
  toString = () => 'settle';
}

const device = fc.integer({ min: 0, max: USERS.length - 1 });
const send = fc
  .tuple(device, fc.option(fc.nat(5), { nil: undefined }))
  .map(([d, r]) => new Send(d, r));
const op = fc
  .tuple(device, fc.constantFrom('edit', 'delete', 'react' as const), fc.nat(9), fc.nat(1))
  .map(([d, k, p, e]) => new Op(d, k, p, e));
const commands = fc.commands(
  [
    send,
    send,
    op,
    op,
    op,
    fc.constantFrom('server' as const, 'client' as const).map((e) => new Cut(e)),
    fc.constant(new Restart()),
    fc.constant(new Settle()),
  ],
  { maxCommands: 40, size: 'medium' },
);

async function setup(): Promise<World> {
  const hub = await startHub({ limits: { maxReplay: 3 } });
  const clients = USERS.map((token) =>
    createClient({
      url: hub.url,
      token,
      WebSocket: hub.WebSocket,
      reconnect: { minDelayMs: 5, maxDelayMs: 50 },
      ackTimeoutMs: 1_000,
      outbox: { maxRetries: 50 },
    }),
  );
  for (const c of clients) void c.conversation('room').open(200);
  await Promise.all(
    clients.map((c) => new Promise<void>((r) => (c.synced ? r() : c.once('synced', r)))),
  );
  // Targets to start from: three messages of each user, seen by every device.
  for (const d of [0, 2])
    for (let i = 0; i < 3; i++) await clients[d]!.conversation('room').send(`${USERS[d]}/${i}`);
  await eventually(() => {
    for (const c of clients) expect(c.conversation('room').messages).toHaveLength(6);
  }, 5_000);
  return { hub, clients, promises: [], counters: {} };
}

/** What must be the same everywhere. */
const state = (m: Message | StoredMessage) => ({
  seq: m.seq,
  senderId: m.senderId,
  text: m.text,
  data: m.data,
  replyTo: m.replyTo,
  deleted: m.deleted,
  reactions: m.reactions,
  editedAt: m.editedAt,
  version: m.version,
});

async function eventually(check: () => Promise<void> | void, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function verify(w: World): Promise<void> {
  // Every send and operation ends (stored, or refused and rolled back).
  await Promise.race([
    Promise.all(w.promises),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('a promise never settled')), 30_000),
    ),
  ]);
  await eventually(async () => {
    const page = await w.hub.hub.history('room', { limit: 200 });
    const truth = page.messages.filter((m) => m.kind === 'user' || m.kind === 'system').map(state);
    for (const [d, c] of w.clients.entries()) {
      const conv = c.conversation('room');
      if (conv.hasMore && c.synced)
        await conv.loadOlder(200).catch((e) => {
          if (!(e instanceof DisconnectedError)) throw e;
        });
      const shown = conv.messages
        .filter((m) => m.status === 'sent')
        .map((m) => state(m as StoredMessage));
      const diff = truth.flatMap((t, i) =>
        JSON.stringify(t) === JSON.stringify(shown[i]) ? [] : [{ hub: t, device: shown[i] }],
      );
      expect(shown.length, `device ${d} (${USERS[d]}) holds every message`).toBe(truth.length);
      expect(diff, `device ${d} (${USERS[d]}): ${JSON.stringify(diff)}`).toEqual([]);
    }
  }, 15_000);
}

describe.each(SEEDS)('lifecycle model against the real hub (seed %i)', (seed) => {
  it(`every device converges over ${RUNS} random runs of sends, edits, deletes, reactions, cuts and resets`, async () => {
    const totals: Record<string, number> = {};
    const property = fc.asyncProperty(commands, async (cmds) => {
      const w = await setup();
      try {
        await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
        await verify(w);
        for (const [k, v] of Object.entries(w.counters)) totals[k] = (totals[k] ?? 0) + v;
      } finally {
        for (const c of w.clients) c.close();
        await w.hub.dispose();
      }
    });
    const details = await fc.check(property, { seed, numRuns: RUNS, endOnFailure: true });
    if (details.failed) {
      const cause = details.errorInstance;
      throw new Error(
        `lifecycle model failed (seed ${details.seed}, path ${details.counterexamplePath}; replay with PARLEY_SEED=${details.seed}): ` +
          `${cause instanceof Error ? cause.message : String(cause)}\ncommands: ${String(details.counterexample?.[0])}`,
        { cause },
      );
    }
    console.log(`[lifecycle model] seed ${seed}: ${RUNS} runs ${JSON.stringify(totals)}`);
  }, 240_000);
});
