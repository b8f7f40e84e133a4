/**
 * The hub model (issue 13), shared by its topologies: random interleavings of connect,
 * disconnect, hub.join, hub.leave, hub.publish, client sends, hub.disconnectUser (a ban) and token
 * refreshes, with random latencies in authenticate, conversationsOf and persist, against one or
 * more hubs on one store (3 users of 2 devices each). With several hubs, every socket connects to
 * a random one and every server call runs on a random one, so each membership change, kick and
 * send crosses the engine (Redis pub/sub and scripts), not a local shortcut.
 *
 * Server calls are awaited in order (so the model knows who was a member when each message was
 * published); socket actions and hooks run concurrently with them. After each run, once every
 * socket is quiet, the recorded history is checked (Jepsen's habit: state the invariants, record,
 * check afterwards):
 * 1. per socket and conversation, messages arrive in seq order, each once, between `welcome`
 *    (or `joined`) and `left`; at the end a member's socket holds everything up to the head;
 * 2. a live message reaches only users who were members when it was published, and none who was
 *    banned then; a socket holds a conversation at the end exactly when its user is a member;
 * 3. a send by a non-member is refused, a member's is stored (unless membership changed since, or
 *    the socket had not yet received the `joined` of a join, or the `left` of a leave, made on
 *    another process);
 * 4. a banned user holds no open socket;
 * 5. every send is answered (ack or error), unless its socket closed.
 */
import type { ServerFrame } from '@parley/protocol';
import fc from 'fast-check';
import type { Engine } from '../../src/engines/types.js';
import { ForbiddenError } from '../../src/errors.js';
import type { HubOptions } from '../../src/hub/options.js';
import { is, TestClient } from './client.js';
import type { TServer } from './servers.js';

const USERS = ['u1', 'u2', 'u3'] as const;
const DEVICES = [0, 1] as const;
const CONVS = ['k1', 'k2', 'k3'] as const;
type User = (typeof USERS)[number];
type Conv = (typeof CONVS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sock {
  user: User;
  device: number;
  client: TestClient;
  /** Resolves on `welcome` or close. */
  settled: Promise<void>;
}

interface SendRecord {
  sock: Sock;
  ref: string;
  conv: Conv;
  op: number;
  memberAtSend: boolean;
}

/** The real system plus what the run recorded. */
interface World {
  /** The hubs, one per process, on one store. */
  servers: TServer[];
  /** Reads the heads at the end (any of the hubs' engines: they share the store). */
  engine: Engine;
  dispose: () => Promise<void>;
  /** The app's membership database: conversationsOf reads it. */
  db: Record<Conv, Set<User>>;
  banned: Set<User>;
  sockets: Map<string, Sock>;
  all: Sock[];
  op: number;
  /** Members of the conversation when each seq was published by `hub.publish`. */
  membersAt: Map<string, Set<User>>;
  /** Users banned (`hub.disconnectUser` resolved, not unbanned) when each seq was published. */
  bannedAt: Map<string, Set<User>>;
  sends: SendRecord[];
  changes: { op: number; user: User; conv: Conv; kind: 'join' | 'leave' }[];
  /** Latencies for the next conversationsOf calls, per user. */
  convLatency: Map<User, number[]>;
  violations: string[];
  counter: number;
  /** App hooks still running (a send's persist outlives a closed socket). */
  inFlight: Set<Promise<unknown>>;
}

/** Runs a hook body, tracked so that the run ends only once every hook call settled. */
function track<T>(w: World, body: () => Promise<T>): Promise<T> {
  const p = body();
  w.inFlight.add(p);
  const done = () => w.inFlight.delete(p);
  p.then(done, done);
  return p;
}

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, World>;

/** The hub a command with hub index `i` runs on (-1, not drawn: the first). */
const hubOf = (w: World, i: number): TServer => w.servers[Math.max(0, i) % w.servers.length]!;
/** ` on hub N` in a command's name when there are several hubs. */
const onHub = (i: number): string => (i < 0 ? '' : ` on hub ${i}`);

function socketFor(w: World, user: User, device: number): Sock | undefined {
  const s = w.sockets.get(`${user}/${device}`);
  return s === undefined || s.client.closeInfo !== undefined ? undefined : s;
}

class Connect implements Cmd {
  constructor(
    readonly user: User,
    readonly device: number,
    readonly authMs: number,
    readonly convMs: number,
    readonly hub = -1,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    const old = socketFor(w, this.user, this.device);
    if (old !== undefined) await old.client.close();
    w.convLatency.get(this.user)!.push(this.convMs);
    const client = await TestClient.connect(hubOf(w, this.hub).url, { hello: false });
    client.send({ type: 'hello', protocol: 1, token: `${this.user}#${this.authMs}` });
    const sock: Sock = {
      user: this.user,
      device: this.device,
      client,
      settled: client
        .next(is('welcome'), 10_000)
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => undefined),
    };
    w.sockets.set(`${this.user}/${this.device}`, sock);
    w.all.push(sock);
  }
  toString = () =>
    `connect(${this.user}/${this.device}, auth ${this.authMs}, convs ${this.convMs}${onHub(this.hub)})`;
}

class Disconnect implements Cmd {
  constructor(
    readonly user: User,
    readonly device: number,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    socketFor(w, this.user, this.device)?.client.ws.close(1000);
  }
  toString = () => `disconnect(${this.user}/${this.device})`;
}

class Send implements Cmd {
  constructor(
    readonly user: User,
    readonly device: number,
    readonly conv: Conv,
    readonly persistMs: number,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    const sock = socketFor(w, this.user, this.device);
    if (sock === undefined) return;
    const ref = `s${w.counter++}`;
    sock.client.send({
      type: 'send',
      ref,
      conversationId: this.conv,
      clientMsgId: `${ref}-${this.persistMs}`,
      text: `from ${this.user}`,
    });
    w.sends.push({
      sock,
      ref,
      conv: this.conv,
      op: w.op,
      memberAtSend: w.db[this.conv].has(this.user),
    });
  }
  toString = () => `send(${this.user}/${this.device} -> ${this.conv}, persist ${this.persistMs})`;
}

class Reauth implements Cmd {
  constructor(
    readonly user: User,
    readonly device: number,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    const sock = socketFor(w, this.user, this.device);
    sock?.client.send({ type: 'auth', ref: `a${w.counter++}`, token: `${this.user}#0` });
  }
  toString = () => `reauth(${this.user}/${this.device})`;
}

class Join implements Cmd {
  constructor(
    readonly conv: Conv,
    readonly user: User,
    readonly hub = -1,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    w.db[this.conv].add(this.user); // the app's database first, then the hub
    w.changes.push({ op: w.op, user: this.user, conv: this.conv, kind: 'join' });
    await hubOf(w, this.hub).hub.join(this.conv, [this.user]);
  }
  toString = () => `join(${this.conv}, ${this.user})${onHub(this.hub)}`;
}

/** `hub.leave` of one user or of several at once (one envelope on the conversation's topic). */
class Leave implements Cmd {
  constructor(
    readonly conv: Conv,
    readonly users: readonly User[],
    readonly hub = -1,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    for (const user of this.users) {
      w.db[this.conv].delete(user);
      w.changes.push({ op: w.op, user, conv: this.conv, kind: 'leave' });
    }
    await hubOf(w, this.hub).hub.leave(this.conv, this.users);
  }
  toString = () => `leave(${this.conv}, ${this.users.join('+')})${onHub(this.hub)}`;
}

class Publish implements Cmd {
  constructor(
    readonly conv: Conv,
    readonly hub = -1,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    const m = await hubOf(w, this.hub).hub.publish(this.conv, {
      text: `system ${w.op}`,
    });
    w.membersAt.set(`${this.conv}/${m.seq}`, new Set(w.db[this.conv]));
    w.bannedAt.set(`${this.conv}/${m.seq}`, new Set(w.banned));
  }
  toString = () => `publish(${this.conv})${onHub(this.hub)}`;
}

class Ban implements Cmd {
  constructor(
    readonly user: User,
    readonly hub = -1,
  ) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    w.banned.add(this.user);
    await hubOf(w, this.hub).hub.disconnectUser(this.user, {
      code: 4403,
      reason: 'banned',
    });
  }
  toString = () => `ban(${this.user})${onHub(this.hub)}`;
}

class Unban implements Cmd {
  constructor(readonly user: User) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    w.op++;
    w.banned.delete(this.user);
  }
  toString = () => `unban(${this.user})`;
}

const user = fc.constantFrom(...USERS);
const device = fc.constantFrom(...DEVICES);
const conv = fc.constantFrom(...CONVS);
const latency = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 25 }));

/**
 * The command mix. With one hub the hub index is not drawn (-1): the sequences are the ones the
 * single-hub model always ran for its seeds.
 */
function commandsFor(hubs: number) {
  const on = hubs > 1 ? fc.integer({ min: 0, max: hubs - 1 }) : fc.constant(-1);
  return fc.commands(
    [
      fc
        .tuple(user, device, latency, latency, on)
        .map(([u, d, a, c, h]) => new Connect(u, d, a, c, h)),
      fc
        .tuple(user, device, latency, latency, on)
        .map(([u, d, a, c, h]) => new Connect(u, d, a, c, h)),
      fc.tuple(user, device).map(([u, d]) => new Disconnect(u, d)),
      fc.tuple(user, device, conv, latency).map(([u, d, c, p]) => new Send(u, d, c, p)),
      fc.tuple(user, device, conv, latency).map(([u, d, c, p]) => new Send(u, d, c, p)),
      fc.tuple(user, device, conv, latency).map(([u, d, c, p]) => new Send(u, d, c, p)),
      fc.tuple(user, device).map(([u, d]) => new Reauth(u, d)),
      fc.tuple(conv, user, on).map(([c, u, h]) => new Join(c, u, h)),
      fc.tuple(conv, user, on).map(([c, u, h]) => new Join(c, u, h)),
      fc.tuple(conv, user, on).map(([c, u, h]) => new Leave(c, [u], h)),
      fc
        .tuple(conv, fc.uniqueArray(user, { minLength: 2, maxLength: 2 }), on)
        .map(([c, us, h]) => new Leave(c, us, h)),
      fc.tuple(conv, on).map(([c, h]) => new Publish(c, h)),
      fc.tuple(conv, on).map(([c, h]) => new Publish(c, h)),
      fc.tuple(conv, on).map(([c, h]) => new Publish(c, h)),
      fc.tuple(user, on).map(([u, h]) => new Ban(u, h)),
      user.map((u) => new Unban(u)),
    ],
    { size: '+1', maxCommands: 40 },
  );
}

const initialMembers = fc.record({
  k1: fc.subarray([...USERS]),
  k2: fc.subarray([...USERS]),
  k3: fc.subarray([...USERS]),
});

async function setup(topology: Topology, initial: Record<Conv, User[]>): Promise<World> {
  const w = {
    db: {
      k1: new Set(initial.k1),
      k2: new Set(initial.k2),
      k3: new Set(initial.k3),
    },
    banned: new Set<User>(),
    sockets: new Map(),
    all: [],
    op: 0,
    membersAt: new Map(),
    bannedAt: new Map(),
    sends: [],
    changes: [],
    convLatency: new Map(USERS.map((u) => [u, []])),
    violations: [],
    counter: 0,
    inFlight: new Set(),
  } as unknown as World;
  const hooks: Omit<HubOptions, 'engine'> = {
    authenticate: ({ token }) =>
      track(w, async () => {
        const [u, ms] = (token ?? '').split('#') as [User, string];
        if (!USERS.includes(u)) return null;
        // Checked before the latency, so that a ban can land while authenticate is "slow".
        if (w.banned.has(u)) throw new ForbiddenError('banned');
        await sleep(Number(ms));
        return { userId: u, profile: { name: u.toUpperCase() } };
      }),
    conversationsOf: (u) =>
      track(w, async () => {
        const list = CONVS.filter((c) => w.db[c].has(u as User));
        await sleep(w.convLatency.get(u as User)?.shift() ?? 0);
        return list;
      }),
    persist: (d) =>
      track(w, async () => {
        await sleep(Number(d.clientMsgId.split('-')[1]));
        return undefined;
      }),
    limits: { rate: { burst: 10_000, perSecond: 10_000, floodThreshold: 100_000 } },
    presence: { graceMs: 0 },
  };
  const started = await topology.start(hooks);
  w.servers = started.servers;
  w.engine = started.engines[0]!;
  // Appends are tracked like the hooks: one that starts after its socket closed (its persist
  // outlived the socket) must still land before the run is checked.
  for (const e of started.engines) {
    const append = e.append.bind(e);
    e.append = (input) => track(w, () => append(input));
  }
  w.dispose = started.dispose;
  // The engine's membership record starts like the app's database.
  for (const c of CONVS) await w.engine.addMembers(c, initial[c]);
  return w;
}

/**
 * Waits until every socket is quiet: session started (or closed), every queued task answered, and
 * every frame those tasks fanned out to other sockets arrived (hence two rounds of barriers).
 */
async function quiesce(w: World): Promise<void> {
  await Promise.all(w.all.map((s) => s.settled));
  while (w.inFlight.size > 0) await Promise.allSettled([...w.inFlight]);
  for (let round = 0; round < 2; round++) {
    for (const s of w.all) {
      if (s.client.closeInfo !== undefined) continue;
      const ref = `barrier${w.counter++}`;
      // Answered through the connection's ordered path (forbidden), after everything queued.
      s.client.send({ type: 'history', ref, conversationId: '__barrier__' });
      await s.client
        .next((f): f is ServerFrame => f.type === 'error' && f.ref === ref, 10_000)
        .catch((err: unknown) => {
          if (s.client.closeInfo === undefined)
            w.violations.push(`${s.user}/${s.device}: no barrier answer (${String(err)})`);
        });
    }
  }
  // Across processes the barriers are not enough: a send's ack and every stored message come back
  // through the engine's pub/sub, after the connection already answered later frames, and a
  // send whose socket closed is still appended after its persist hook settled. So wait (with a
  // deadline: a real loss still fails below) until every open socket's sends are answered and
  // each conversation it holds has reached the head.
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && !(await reachedHeads(w))) await sleep(20);
  // A banned user's sockets must be closing: wait for their close frames.
  for (const s of w.all) {
    if (!w.banned.has(s.user) || s.client.closeInfo !== undefined) continue;
    const closed = await Promise.race([s.client.closed, sleep(3000).then(() => undefined)]);
    if (closed === undefined) w.violations.push(`banned ${s.user}/${s.device} still open`);
  }
}

/**
 * Whether every open socket's sends are answered, it holds exactly its user's conversations, and
 * every conversation it holds has reached the store's head (the highest seq it saw in any frame;
 * `verify` checks the order).
 */
async function reachedHeads(w: World): Promise<boolean> {
  for (const r of w.sends) {
    if (r.sock.client.closeInfo !== undefined) continue;
    const answered = r.sock.client.frames.some(
      (f) => (f.type === 'ack' || f.type === 'error') && f.ref === r.ref,
    );
    if (!answered) return false;
  }
  const heads = await w.engine.heads(CONVS);
  for (const s of w.all) {
    if (s.client.closeInfo !== undefined) continue;
    const held = new Map<string, number>();
    for (const f of s.client.frames) {
      if (f.type === 'welcome') for (const c of f.conversations) held.set(c.id, c.seq);
      else if (f.type === 'joined' || f.type === 'reset') held.set(f.conversationId, f.seq);
      else if (f.type === 'left') held.delete(f.conversationId);
      else if (f.type === 'replay') {
        const last = f.messages.at(-1);
        if (last !== undefined) held.set(f.conversationId, last.seq);
      } else if (f.type === 'message' || f.type === 'ack') {
        const c = f.message.conversationId;
        const top = held.get(c);
        if (top !== undefined) held.set(c, Math.max(top, f.message.seq));
      }
    }
    for (const [c, top] of held) if (top < (heads.get(c)?.seq ?? 0)) return false;
    // A membership change made on the other process reaches this one through the engine, maybe
    // after the barriers: wait for its `joined` or `left` too.
    if (s.client.frames.some((f) => f.type === 'welcome'))
      for (const c of CONVS) if (held.has(c) !== w.db[c].has(s.user)) return false;
  }
  return true;
}

/** Checks the recorded history against the invariants (see the file comment). */
async function verify(w: World): Promise<void> {
  const heads = await w.engine.heads(CONVS);
  const held = new Map<Sock, Map<Conv, { inSeg: boolean; cursor: number; live: boolean }>>();
  for (const s of w.all) {
    const who = `${s.user}/${s.device}`;
    const open = s.client.closeInfo === undefined;
    const seg = new Map<Conv, { inSeg: boolean; cursor: number; live: boolean }>();
    const get = (c: Conv) => {
      let st = seg.get(c);
      if (st === undefined) {
        st = { inSeg: false, cursor: 0, live: false };
        seg.set(c, st);
      }
      return st;
    };
    const bad = (msg: string) => w.violations.push(`${who}: ${msg}`);
    for (const f of s.client.frames) {
      switch (f.type) {
        case 'welcome':
          for (const c of f.conversations) {
            const st = get(c.id as Conv);
            // No cursors in the hello: the socket starts at the head (issue 16), then live.
            st.inSeg = true;
            st.cursor = c.seq;
            st.live = true;
          }
          break;
        case 'joined': {
          const st = get(f.conversationId as Conv);
          if (st.inSeg) bad(`joined ${f.conversationId} while joined`);
          st.inSeg = true;
          st.cursor = f.seq;
          st.live = true;
          break;
        }
        case 'left': {
          const st = get(f.conversationId as Conv);
          if (!st.inSeg) bad(`left ${f.conversationId} it did not hold`);
          st.inSeg = false;
          break;
        }
        case 'reset': {
          const st = get(f.conversationId as Conv);
          if (!st.inSeg) bad(`reset of ${f.conversationId} outside membership`);
          st.cursor = f.seq;
          break;
        }
        case 'replay': {
          const c = f.conversationId as Conv;
          const st = get(c);
          if (!st.inSeg) bad(`replay of ${c} outside membership`);
          for (const m of f.messages) {
            if (m.seq !== st.cursor + 1) bad(`${c}: replayed seq ${m.seq} after ${st.cursor}`);
            st.cursor = m.seq;
            checkMember(w, s, c, m.seq, st.live, bad);
          }
          break;
        }
        case 'message': {
          const c = f.message.conversationId as Conv;
          const st = get(c);
          if (!st.inSeg) bad(`message ${c}#${f.message.seq} outside membership`);
          else if (f.message.seq !== st.cursor + 1)
            bad(`${c}: message seq ${f.message.seq} after ${st.cursor}`);
          st.cursor = Math.max(st.cursor, f.message.seq);
          checkMember(w, s, c, f.message.seq, true, bad);
          break;
        }
        case 'ack': {
          const c = f.message.conversationId as Conv;
          const st = get(c);
          // An ack outside the stream (answered directly), or for a send stored after the user
          // left (the `left` follows), does not move the cursor; one at its place does. A real
          // hole shows as a later message's gap or an incomplete end.
          if (st.inSeg && f.message.seq === st.cursor + 1) st.cursor = f.message.seq;
          break;
        }
        default:
          break;
      }
    }
    if (!open) continue;
    // (2) the socket holds a conversation at the end exactly when its user is a member; (1) it
    // holds everything up to the head.
    for (const c of CONVS) {
      const st = get(c);
      const member = w.db[c].has(s.user);
      if (st.inSeg !== member) bad(`${c}: holds it ${st.inSeg}, member ${member}`);
    }
    held.set(s, seg);
  }
  for (const [s, seg] of held) {
    for (const c of CONVS) {
      const st = seg.get(c);
      const head = heads.get(c)!.seq;
      if (st?.inSeg && st.cursor !== head)
        w.violations.push(`${s.user}/${s.device}: ${c} ends at ${st.cursor}, head ${head}`);
    }
  }
  // (3) sends by non-members refused, by members stored; (5) every send answered.
  for (const r of w.sends) {
    const who = `${r.sock.user}/${r.sock.device}`;
    const answer = r.sock.client.frames.find(
      (f) => (f.type === 'ack' || f.type === 'error') && f.ref === r.ref,
    );
    if (answer === undefined) {
      if (r.sock.client.closeInfo === undefined)
        w.violations.push(`${who}: send ${r.ref} unanswered`);
      continue;
    }
    const changedSince = w.changes.some(
      (ch) => ch.op > r.op && ch.user === r.sock.user && ch.conv === r.conv,
    );
    if (changedSince) continue;
    // On several processes a leave applies on each one when its envelope arrives through the
    // engine: a send the socket's process served before that (its ack before the `left`) was a
    // member's there (PROTOCOL.md, Leave). One process applies it before `hub.leave` resolves.
    const servedBeforeLeft = w.servers.length > 1 && heldBefore(r.sock, answer, r.conv);
    if (answer.type === 'ack' && !r.memberAtSend && !servedBeforeLeft)
      w.violations.push(`${who}: non-member send ${r.ref} to ${r.conv} stored`);
    // A join made on another process reaches the socket through the engine: until its `joined`
    // has arrived, the socket does not hold the conversation, and a send for it is refused
    // (PROTOCOL.md, Membership changes). Held when the answer came, it must be served.
    if (
      answer.type === 'error' &&
      r.memberAtSend &&
      answer.code === 'forbidden' &&
      heldBefore(r.sock, answer, r.conv)
    )
      w.violations.push(`${who}: member send ${r.ref} to ${r.conv} refused`);
  }
  // (4) banned users hold no open socket.
  for (const s of w.all) {
    if (w.banned.has(s.user) && s.client.closeInfo === undefined)
      w.violations.push(`banned ${s.user}/${s.device} holds an open socket`);
  }
}

/** Whether the socket held the conversation (`welcome` or `joined`, no `left` since) before `frame`. */
function heldBefore(s: Sock, frame: ServerFrame, c: Conv): boolean {
  let held = false;
  for (const f of s.client.frames) {
    if (f === frame) break;
    if (f.type === 'welcome') held = f.conversations.some((x) => x.id === c);
    else if (f.type === 'joined' && f.conversationId === c) held = true;
    else if (f.type === 'left' && f.conversationId === c) held = false;
  }
  return held;
}

/**
 * (2) A live message (not a welcome replay) reaches only users who were members at publish, and
 * none who was banned then: a ban closes the user's sockets before anything published after it.
 */
function checkMember(
  w: World,
  s: Sock,
  c: Conv,
  seq: number,
  live: boolean,
  bad: (msg: string) => void,
): void {
  if (!live) return;
  if (w.bannedAt.get(`${c}/${seq}`)?.has(s.user))
    bad(`${c}#${seq} reached ${s.user}, banned when it was published`);
  const members = w.membersAt.get(`${c}/${seq}`);
  if (members === undefined || members.has(s.user)) return;
  bad(`${c}#${seq} reached ${s.user}, not a member when it was published`);
}

/** One frame in a few characters, for failure timelines. */
function brief(f: ServerFrame): string {
  switch (f.type) {
    case 'welcome':
      return `welcome[${f.conversations.map((c) => `${c.id}@${c.seq}`).join(',')}]`;
    case 'message':
    case 'ack':
      return `${f.type}(${f.message.conversationId}#${f.message.seq})`;
    case 'replay':
      return `replay(${f.conversationId}:${f.messages.map((m) => m.seq).join(',')})`;
    case 'joined':
    case 'reset':
      return `${f.type}(${f.conversationId}@${f.seq})`;
    case 'left':
      return `left(${f.conversationId})`;
    case 'error':
      return `error(${f.code}${f.ref === undefined ? '' : ` ${f.ref}`})`;
    default:
      return f.type;
  }
}

async function runOnce(
  topology: Topology,
  initial: Record<Conv, User[]>,
  cmds: Iterable<Cmd>,
): Promise<void> {
  const w = await setup(topology, initial);
  try {
    // Every device starts connected (device d on hub d when there are several); the commands then
    // reconnect, cut and race them.
    for (const u of USERS)
      for (const d of DEVICES)
        await new Connect(u, d, 0, 0, topology.hubs > 1 ? d % topology.hubs : -1).run({}, w);
    await fc.asyncModelRun(() => ({ model: {} as Model, real: w }), cmds);
    await quiesce(w);
    if (process.env.PARLEY_MODEL_DEBUG)
      process.stdout.write(
        `${String(cmds)}\n  frames ${w.all.map((s) => s.client.frames.length).join(',')} sends ${w.sends.length}\n`,
      );
    await verify(w);
    if (w.violations.length > 0) {
      // The timeline of each socket involved, to replay the failure by reading.
      const involved = w.all.filter((s) =>
        w.violations.some((v) => v.startsWith(`${s.user}/${s.device}`)),
      );
      const timeline = involved.map(
        (s) => `${s.user}/${s.device}: ${s.client.frames.map(brief).join(' ')}`,
      );
      throw new Error(
        `invariants violated:\n  ${w.violations.slice(0, 20).join('\n  ')}\n${timeline.join('\n').slice(0, 4000)}`,
      );
    }
  } finally {
    for (const s of w.all) s.client.terminate();
    await w.dispose();
  }
}

/** Hubs on one store, started with the model's hooks. */
export interface Topology {
  /** Hubs started (one per process). */
  readonly hubs: number;
  /** Starts them, with their engines (one store: any of them reads the heads at the end). */
  start(hooks: Omit<HubOptions, 'engine'>): Promise<{
    servers: TServer[];
    engines: Engine[];
    dispose: () => Promise<void>;
  }>;
}

/** Runs the model `numRuns` times from `seed`; throws with the seed, path and violations. */
export async function checkHubModel(
  topology: Topology,
  seed: number,
  numRuns: number,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(initialMembers, commandsFor(topology.hubs), (initial, cmds) =>
      runOnce(topology, initial, cmds),
    ),
    { seed, numRuns, endOnFailure: true },
  );
}
