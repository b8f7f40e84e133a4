/**
 * Model-based test of the client's promises (issue 14), fast-check `fc.commands` +
 * `fc.asyncModelRun`, against the REAL hub. Three devices (alice on two, bob on one) send into
 * two conversations while random commands cut links (either end), hold one device offline
 * while the others go on (it comes back to a `reset` when it fell behind the history), restart
 * the hub (graceful or crash-like; over the same engine, or a fresh one — a new epoch: resets),
 * make the persist hook throw `UnavailableError`, lose acks (the link is cut right after the hub
 * stored the message), and pause. The hub keeps a history of 4 messages (a device that falls
 * behind gets a `reset`) and a small rate limit: the outbox paces itself by it, except on
 * alice#2, which is told a limit ten times the real one, so it meets `rate_limited` answers (and
 * a 4429 close when it floods). Every message stored is recorded from the engine.
 *
 * Checked after each run, once every promise settled and every device caught up (Jepsen style: a
 * history recorded, checked at the end):
 * 1. every send promise settled (resolved, or rejected with a typed `ParleyError`);
 * 2. nothing stored twice: every `clientMsgId` at most once per epoch;
 * 3. each device's own messages stored in its send order, per conversation;
 * 4. every resolved send is stored, with the seq and id its promise gave;
 * 5. what each device displays is exactly the stored list (a contiguous run ending at the head,
 *    once each, after paging older messages in), with no pending entry left and no entry beside
 *    the stored copy of itself.
 * Fixed seeds in CI (`PARLEY_SEED` replays one; `PARLEY_MODEL_RUNS` sets the runs per seed); a
 * failure prints the seed, the path and the commands.
 */
import type { Message } from '@parley/protocol';
import { createMemoryEngine, type Engine, UnavailableError } from '@parley/server-adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  type ClientMessage,
  type Conversation,
  createClient,
  DisconnectedError,
  type ParleyClient,
  ParleyError,
  ServerError,
  type StoredMessage,
} from '../../src/index.js';
import { opened, until } from '../helpers/mock-hub.js';
import { prng, startHub, type TestHub } from './hub.js';

const SEEDS = process.env.PARLEY_SEED ? [Number(process.env.PARLEY_SEED)] : [101, 202, 303];
const RUNS = Number(process.env.PARLEY_MODEL_RUNS ?? 8);
const CONVERSATIONS = ['room', 'side'] as const;
const DEVICES = [
  { name: 'alice#1', user: 'alice' },
  { name: 'alice#2', user: 'alice' },
  { name: 'bob', user: 'bob' },
] as const;
const HISTORY = 4;
/** Where a held device's connect attempts go: nothing listens on the discard port. */
const DEAD_URL = 'ws://127.0.0.1:9/parley';

interface SendRecord {
  device: number;
  conv: string;
  /** Per device and conversation, in send order. */
  index: number;
  clientMsgId: string | undefined;
  result: { ok: true; message: StoredMessage } | { ok: false; error: unknown } | undefined;
  promise: Promise<unknown>;
}

interface World {
  hub: TestHub;
  clients: ParleyClient[];
  /** Devices kept offline (their connect attempts go to a dead port). */
  held: Set<number>;
  /** Each device's latest socket. */
  sockets: Array<WebSocket | undefined>;
  sends: SendRecord[];
  /** Messages stored (not retries), per engine — one engine per epoch. */
  logs: Map<Engine, Message[]>;
  unavailable: { left: number; thrown: number };
  counters: Record<string, number>;
}

type Model = { sends: number };
type Cmd = fc.AsyncCommand<Model, World>;

const bump = (w: World, k: string) => {
  w.counters[k] = (w.counters[k] ?? 0) + 1;
};

class Send implements Cmd {
  constructor(
    readonly device: number,
    readonly conv: (typeof CONVERSATIONS)[number],
    readonly n: number,
  ) {}
  check = () => true;
  async run(m: Model, w: World) {
    const client = w.clients[this.device]!;
    const conv = client.conversation(this.conv);
    for (let k = 0; k < this.n; k++) {
      const index = w.sends.filter((s) => s.device === this.device && s.conv === this.conv).length;
      const rec: SendRecord = {
        device: this.device,
        conv: this.conv,
        index,
        clientMsgId: undefined,
        result: undefined,
        promise: Promise.resolve(),
      };
      rec.promise = conv.send(`${DEVICES[this.device]!.name}/${this.conv}/${index}`).then(
        (message) => {
          rec.result = { ok: true, message };
        },
        (error: unknown) => {
          rec.result = { ok: false, error };
        },
      );
      const shown = conv.messages.at(-1);
      if (shown?.status === 'pending') rec.clientMsgId = shown.clientMsgId;
      w.sends.push(rec);
      m.sends++;
    }
  }
  toString = () => `send(${DEVICES[this.device]!.name}, ${this.conv}, ×${this.n})`;
}

class Cut implements Cmd {
  constructor(readonly end: 'server' | 'client') {}
  check = () => true;
  async run(_m: Model, w: World) {
    if (this.end === 'server') w.hub.killServerSockets();
    else w.hub.killClientSockets();
    bump(w, `cut.${this.end}`);
  }
  toString = () => `cut(${this.end})`;
}

class Hold implements Cmd {
  constructor(
    readonly device: number,
    readonly on: boolean,
  ) {}
  check = () => true;
  async run(_m: Model, w: World) {
    if (this.on) {
      w.held.add(this.device);
      w.sockets[this.device]?.terminate();
      bump(w, 'hold');
    } else w.held.delete(this.device);
  }
  toString = () => `${this.on ? 'hold' : 'release'}(${DEVICES[this.device]!.name})`;
}

class LoseAck implements Cmd {
  check = () => true;
  async run(_m: Model, w: World) {
    void w.hub.loseNext('ack').then(() => bump(w, 'ack.lost'));
  }
  toString = () => 'loseAck';
}

class Unavailable implements Cmd {
  constructor(readonly n: number) {}
  check = () => true;
  async run(_m: Model, w: World) {
    w.unavailable.left += this.n;
  }
  toString = () => `unavailable(×${this.n})`;
}

class Restart implements Cmd {
  constructor(
    readonly crash: boolean,
    readonly freshEngine: boolean,
  ) {}
  check = () => true;
  async run(_m: Model, w: World) {
    await w.hub.restart({ crash: this.crash, freshEngine: this.freshEngine });
    bump(w, `restart${this.crash ? '.crash' : ''}${this.freshEngine ? '.fresh' : ''}`);
  }
  toString = () =>
    `restart(${this.crash ? 'crash' : 'graceful'}, ${this.freshEngine ? 'fresh engine' : 'same engine'})`;
}

class Pause implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run() {
    // Part of the random schedule (lets frames interleave), not a wait for a condition.
    await new Promise((r) => setTimeout(r, this.ms));
  }
  toString = () => `pause(${this.ms})`;
}

const send = fc
  .tuple(
    fc.nat(DEVICES.length - 1),
    fc.constantFrom(...CONVERSATIONS),
    fc.integer({ min: 1, max: 6 }),
  )
  .map(([d, c, n]) => new Send(d, c, n));
const pause = fc.integer({ min: 0, max: 25 }).map((ms) => new Pause(ms));
// Sends and pauses count twice: they are the traffic between the faults.
const commands = fc.commands(
  [
    send,
    send,
    pause,
    pause,
    fc.constantFrom('server' as const, 'client' as const).map((e) => new Cut(e)),
    fc.tuple(fc.nat(DEVICES.length - 1), fc.boolean()).map(([d, on]) => new Hold(d, on)),
    fc.constant(new LoseAck()),
    fc.integer({ min: 1, max: 3 }).map((n) => new Unavailable(n)),
    fc.tuple(fc.boolean(), fc.nat(3)).map(([crash, f]) => new Restart(crash, f === 0)),
  ],
  { maxCommands: 40, size: 'max' },
);

/** The device told a rate limit ten times the hub's real one. */
const OVERDRIVE = 1;

/** A welcome frame with its advertised rate limit multiplied by 10. */
function overstated(data: unknown): unknown {
  const text = String(data);
  if (!text.startsWith('{"type":"welcome"')) return data;
  const f = JSON.parse(text) as { limits: { rate?: { burst: number; perSecond: number } } };
  const rate = f.limits.rate;
  if (rate !== undefined)
    f.limits.rate = { burst: rate.burst * 10, perSecond: rate.perSecond * 10 };
  return Buffer.from(JSON.stringify(f));
}

async function setup(seed: number): Promise<World> {
  const logs = new Map<Engine, Message[]>();
  const unavailable = { left: 0, thrown: 0 };
  const counters: Record<string, number> = {};
  const hub = await startHub(
    {
      conversationsOf: async () => [...CONVERSATIONS],
      limits: { rate: { burst: 8, perSecond: 60, floodThreshold: 100 } },
      metrics: (e) => {
        if (e.type !== 'rate_limited') return;
        const k = e.flood ? 'closed.4429' : 'rate_limited';
        counters[k] = (counters[k] ?? 0) + 1;
      },
      persist: async () => {
        if (unavailable.left > 0) {
          unavailable.left--;
          unavailable.thrown++;
          throw new UnavailableError('injected', { retryAfterMs: 5 });
        }
        return undefined;
      },
    },
    () => {
      const engine = createMemoryEngine({ history: { maxMessages: HISTORY } });
      const log: Message[] = [];
      const recorded: Engine = new Proxy(engine, {
        get(target, key) {
          if (key === 'append') {
            return async (input: Parameters<Engine['append']>[0]) => {
              const r = await target.append(input);
              if (!r.duplicate) log.push(r.message);
              return r;
            };
          }
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      logs.set(recorded, log);
      return recorded;
    },
  );
  const random = prng(seed);
  const held = new Set<number>();
  const sockets: Array<WebSocket | undefined> = [];
  const Tracked = hub.WebSocket as unknown as typeof WebSocket;
  const clients = DEVICES.map((d, i) =>
    createClient({
      url: hub.url,
      token: d.user,
      WebSocket: class extends Tracked {
        constructor(url: string, protocols?: string | string[]) {
          super(held.has(i) ? DEAD_URL : url, protocols);
          sockets[i] = this;
        }
        override emit(event: string | symbol, ...args: unknown[]): boolean {
          if (i === OVERDRIVE && event === 'message') args[0] = overstated(args[0]);
          return super.emit(event, ...args);
        }
      },
      random,
      reconnect: { minDelayMs: 5, maxDelayMs: 40 },
      ackTimeoutMs: 1_500,
      heartbeat: { intervalMs: 2_000, timeoutMs: 2_000 },
    }),
  );
  await Promise.all(clients.map((c) => opened(c)));
  const w: World = { hub, clients, held, sockets, sends: [], logs, unavailable, counters };
  for (const c of clients) c.on('reset', (e) => bump(w, `reset.${e.reason}`));
  return w;
}

const line = (m: ClientMessage) => `${m.seq ?? '-'}:${m.text}:${m.status}`;

async function verify(w: World): Promise<void> {
  w.held.clear();
  w.hub.cancelLosses();
  // 1. Every promise settles (the hub is up; the clients reconnect on their own).
  await within(
    Promise.all(w.sends.map((s) => s.promise)),
    20_000,
    () => `unsettled: ${w.sends.filter((s) => s.result === undefined).length}`,
  );
  for (const s of w.sends) {
    if (s.result?.ok === false) {
      expect(s.result.error, `send ${s.device}/${s.conv}/${s.index}`).toBeInstanceOf(ParleyError);
      bump(w, `rejected.${(s.result.error as ParleyError).code}`);
    }
  }
  const byId = new Map(w.sends.filter((s) => s.clientMsgId).map((s) => [s.clientMsgId!, s]));
  const finalEngine = w.hub.engine;
  for (const [engine, log] of w.logs) {
    // 2. Nothing stored twice (within an epoch: a fresh engine forgot the old one).
    const ids = log.map((m) => `${m.conversationId}/${m.senderId}/${m.clientMsgId}`);
    expect(new Set(ids).size, 'stored twice').toBe(ids.length);
    // 3. Own messages in send order, per device and conversation.
    for (let d = 0; d < DEVICES.length; d++) {
      for (const conv of CONVERSATIONS) {
        const order = log
          .filter((m) => m.conversationId === conv)
          .map((m) => byId.get(m.clientMsgId))
          .filter((s): s is SendRecord => s !== undefined && s.device === d)
          .map((s) => s.index);
        expect(order, `send order of ${DEVICES[d]!.name} in ${conv}`).toEqual(
          [...order].sort((a, b) => a - b),
        );
      }
    }
    if (engine !== finalEngine) continue;
    // 4. Every send resolved in this epoch is stored as its promise said.
    for (const s of w.sends) {
      if (s.result?.ok !== true) continue;
      const acked = s.result.message;
      const stored = log.find((m) => m.id === acked.id);
      if (stored !== undefined) expect(stored.seq).toBe(acked.seq);
    }
  }
  // Every resolved send is stored in some epoch.
  const all = new Set([...w.logs.values()].flat().map((m) => m.id));
  for (const s of w.sends) {
    if (s.result?.ok === true)
      expect(all.has(s.result.message.id), 'resolved but not stored').toBe(true);
  }
  // 5. Each device displays exactly the stored list of the current epoch, once each.
  const log = w.logs.get(finalEngine)!;
  for (let d = 0; d < DEVICES.length; d++) {
    for (const conv of CONVERSATIONS) {
      const stored = log.filter((m) => m.conversationId === conv);
      const head = stored.at(-1)?.seq ?? 0;
      const c = w.clients[d]!.conversation(conv);
      await until(() => expect(c.seq).toBe(head), 1_000); // up to 1,000 checks, 5 ms apart
      // Page the history in while the hub still holds what is missing.
      const oldest = Math.max(1, head - HISTORY + 1);
      for (let i = 0; i < 20; i++) {
        const first = c.messages.find((m) => m.status === 'sent')?.seq ?? head + 1;
        if (first <= oldest || !c.hasMore) break;
        await page(c, w.clients[d]!);
      }
      const shown = c.messages;
      const sent = shown.filter((m) => m.status === 'sent');
      const label = `${DEVICES[d]!.name} in ${conv}: ${shown.map(line).join(' ')}`;
      expect(
        shown.filter((m) => m.status === 'pending'),
        label,
      ).toEqual([]);
      // A contiguous run ending at the head, each the stored message.
      const expected = stored.slice(stored.length - sent.length);
      expect(
        sent.map((m) => m.id),
        label,
      ).toEqual(expected.map((m) => m.id));
      if (head > 0) expect(sent.length, label).toBeGreaterThanOrEqual(Math.min(head, HISTORY));
      // A failed entry is never beside the stored copy of itself.
      const ids = new Set(stored.map((m) => m.clientMsgId));
      for (const f of shown.filter((m) => m.status === 'failed')) {
        expect(ids.has(f.clientMsgId), `failed but stored: ${label}`).toBe(false);
      }
    }
  }
}

/**
 * `loadOlder`, again when the link dropped meanwhile (once it is back) or the hub rate-limited it
 * (after its delay): the app's part, which the client leaves to it for requests.
 */
async function page(c: Conversation, client: ParleyClient): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await c.loadOlder(200);
      return;
    } catch (err) {
      if (tries >= 10) throw err;
      if (err instanceof DisconnectedError) await opened(client);
      else if (err instanceof ServerError && err.code === 'rate_limited')
        await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 100));
      else throw err;
    }
  }
}

function within<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not within ${ms} ms: ${why()}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

describe.each(SEEDS)('client model against the real hub (seed %i)', (seed) => {
  it(`keeps every promise over ${RUNS} random runs of cuts, restarts, unavailable, lost acks and resets`, async () => {
    const totals: Record<string, number> = {};
    let runSeed = seed;
    const property = fc.asyncProperty(commands, async (cmds) => {
      const w = await setup(runSeed++);
      try {
        await fc.asyncModelRun(() => ({ model: { sends: 0 }, real: w }), cmds);
        await verify(w);
        for (const [k, v] of Object.entries(w.counters)) totals[k] = (totals[k] ?? 0) + v;
        totals.sends = (totals.sends ?? 0) + w.sends.length;
        totals.unavailable = (totals.unavailable ?? 0) + w.unavailable.thrown;
      } finally {
        for (const c of w.clients) c.close();
        await w.hub.dispose();
      }
    });
    const details = await fc.check(property, { seed, numRuns: RUNS, endOnFailure: true });
    if (details.failed) {
      const cause = details.errorInstance;
      throw new Error(
        `model failed (seed ${details.seed}, path ${details.counterexamplePath}; replay with PARLEY_SEED=${details.seed}): ` +
          `${cause instanceof Error ? cause.message : String(cause)}\ncommands: ${String(details.counterexample?.[0])}`,
        { cause },
      );
    }
    console.log(`[model] seed ${seed}: ${RUNS} runs ${JSON.stringify(totals)}`);
  }, 180_000);
});
