/**
 * The lean load generator: raw `ws` clients, speaking each system's wire format. Driven by the
 * orchestrator over IPC (request/response with ids); one or several processes (`--loadgens`),
 * each with a share of the users (`shard`). Every payload carries `~T<send time µs>~<message id>~`
 * followed by padding, so latency and loss are measured per delivery. The send time is on the
 * system's monotonic clock, the same in every process, so a sender and a receiver may live in
 * different load generator processes.
 *
 * Leanness: no JSON parse on the receive path in throughput mode (a byte scan for the marker),
 * zero WebSocket masks (ws skips the XOR), no UTF-8 validation, no compression.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Histogram } from './hist.js';
import { conversationsOfUsers, convId, type Topology, userId } from './topology.js';

export type SystemKind = 'ws' | 'socketio' | 'parley';

export interface InitCmd {
  cmd: 'init';
  kind: SystemKind;
  port: number;
  topology: Topology;
  devices: number;
  payload: number;
  /** Reconnect on close, keep an outbox (Parley), count unique deliveries per socket. */
  storm: boolean;
  concurrency: number;
  connectTimeoutMs: number;
  /** Connect only the first `limit` clients of the topology (warm-up). */
  limit?: number;
  /** Reconnect policy (storm mode), the same for every system: full jitter, exponential. */
  backoff?: { firstMs: number; baseMs: number; capMs: number };
  /** This process's share of the users: client i belongs to process i mod count. */
  shard?: { index: number; count: number };
  /**
   * Most messages per second one connection may send (lib/topology.ts `senderBudget`): a `rate`
   * that would make a connection exceed it is refused, for every system alike.
   */
  maxPerSender: number;
}

type Cmd =
  | InitCmd
  | { cmd: 'rate'; rate: number }
  | { cmd: 'window'; tag: number }
  | { cmd: 'endWindow' }
  | { cmd: 'collect'; drainMs: number; stallMs?: number }
  | { cmd: 'status' }
  | { cmd: 'port'; port: number }
  | { cmd: 'close' };

const T = 0x7e; // '~'
const MARK = Buffer.from('~T');
const TYPE_KEY = Buffer.from('"type":"');
// performance.now() shifted onto CLOCK_MONOTONIC (what process.hrtime reads): one clock for
// every load generator process, so latency can be measured across them
const CLOCK_OFFSET = Number(process.hrtime.bigint()) / 1e6 - performance.now();
const now = () => performance.now() + CLOCK_OFFSET;
const zeroMask = (m: Buffer) => {
  m[0] = m[1] = m[2] = m[3] = 0;
};

interface Client {
  idx: number;
  user: number;
  convs: string[];
  nextConv: number;
  ws: WebSocket | null;
  ready: boolean;
  attempts: number;
  // storm bookkeeping
  seen: Set<number> | null;
  cursors: Map<string, { seq: number; epoch?: string }>;
  refilled: Set<string>;
}

let cfg: InitCmd;
let port = 0;
let clients: Client[] = [];
const fanout = new Map<string, number>(); // conversation → deliveries per message
let closing = false;

// sending
let rate = 0;
let rateT0 = 0;
let rateSent = 0;
let sender = 0;
/**
 * Message ids: `tag × TAG + seq × shards + shard`, unique across load generator processes. The tag
 * is the measurement window's (0 outside one): a delivery counts when its tag is the window's.
 */
const TAG = 1e12;
let shard = { index: 0, count: 1 };
let seq = 0;
let sendTag = 0;
let countTag = -1;
let timer: NodeJS.Timeout | null = null;
let padding = '';

let hist = new Histogram();
let expected = 0;
let delivered = 0;
let duplicates = 0;
let sentInWindow = 0;
let droppedInWindow = 0;
let winT0 = 0;
let winT1 = 0;
let cpu0 = process.cpuUsage();
let cpu1 = process.cpuUsage();
let lastDelivery = 0;
// The load generator's own event-loop delay over the window: with its CPU, what says whether it
// (rather than the server) was the limit — a late loop delays both sends and receive timestamps.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let loopP99Ms = 0;
let loopMaxMs = 0;

// Parley outbox (storm mode): clientMsgId → frame
const outbox = new Map<string, string>();
const outboxOwner = new Map<string, Client>();
const outboxSentAt = new Map<string, number>();
/** Sends retried because no `ack` came within ACK_TIMEOUT_MS (same clientMsgId). */
let ackRetries = 0;
/** Per-socket send buffer above which the load generator skips a send (counted). */
const MAX_BUFFERED = 64 * 1024;
let backpressured = 0;
const ACK_TIMEOUT_MS = 2000;
function retryUnacked(): void {
  const t = now();
  for (const [id, frame] of outbox) {
    const c = outboxOwner.get(id)!;
    if (!c.ready || !c.ws || t - (outboxSentAt.get(id) ?? t) < ACK_TIMEOUT_MS) continue;
    c.ws.send(frame);
    outboxSentAt.set(id, t);
    ackRetries++;
  }
}
// storm mode: message id → index of the sending client
const senderOf = new Map<number, number>();

function urlFor(kind: SystemKind): string {
  if (kind === 'ws') return `ws://127.0.0.1:${port}/relay`;
  if (kind === 'socketio') return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
  return `ws://127.0.0.1:${port}/parley`;
}

/** Reads a decimal integer starting at i, up to the next '~'. Returns [value, index of '~']. */
function readInt(b: Buffer, i: number): [number, number] {
  let v = 0;
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c === T) break;
    v = v * 10 + (c - 48);
  }
  return [v, i];
}

/**
 * Counts every payload marker in a frame as one delivery to client c. `skipOwn` (Parley storm
 * mode, `message` and `replay` frames): the socket's own messages are not deliveries there — the
 * sender's delivery is its `ack`.
 */
function scan(c: Client, b: Buffer, from = 0, skipOwn = false): void {
  let i = b.indexOf(MARK, from);
  while (i !== -1) {
    const [us, j] = readInt(b, i + 2);
    const [id, k] = readInt(b, j + 1);
    if (!skipOwn || senderOf.get(id) !== c.idx) deliver(c, id, us);
    i = b.indexOf(MARK, k);
  }
}

/** Counts the first payload marker of a frame (a Parley `ack` also names the text's id elsewhere). */
function scanFirst(c: Client, b: Buffer): void {
  const i = b.indexOf(MARK);
  if (i === -1) return;
  const [us, j] = readInt(b, i + 2);
  const [id] = readInt(b, j + 1);
  deliver(c, id, us);
}

function deliver(c: Client, id: number, us: number): void {
  if (Math.floor(id / TAG) !== countTag) return;
  if (c.seen) {
    if (c.seen.has(id)) {
      duplicates++;
      return;
    }
    c.seen.add(id);
  }
  delivered++;
  lastDelivery = now();
  hist.record(now() - us / 1000);
}

/** The message text: the marker, then padding up to exactly `payload` characters. */
function payloadText(id: number): string {
  const head = `~T${Math.round(now() * 1000)}~${id}~`;
  return head + padding.slice(0, Math.max(0, cfg.payload - head.length));
}

// ---------------------------------------------------------------- per-system wire formats

function onOpen(c: Client): void {
  const ws = c.ws!;
  if (cfg.kind === 'ws') ws.send(JSON.stringify({ convs: c.convs }));
  else if (cfg.kind === 'parley') {
    const cursors: Record<string, { seq: number; epoch?: string }> = {};
    for (const [k, v] of c.cursors) cursors[k] = v;
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        token: userId(c.user),
        ...(c.cursors.size ? { cursors } : {}),
      }),
    );
  }
  // socket.io: wait for the engine.io open packet `0{…}`
}

function setReady(c: Client): void {
  if (c.ready) return;
  c.ready = true;
  c.attempts = 0;
  readyCount++;
  for (const f of readyWaiters.splice(0)) f();
}

function onFrame(c: Client, b: Buffer): void {
  const kind = cfg.kind;
  if (kind === 'ws') {
    if (!c.ready) {
      setReady(c); // {"ok":1}
      return;
    }
    scan(c, b);
    return;
  }
  if (kind === 'socketio') {
    const t = b[0];
    if (t === 0x34 /* 4 message */) {
      const p = b[1];
      if (p === 0x32 /* 2 event */) scan(c, b, 2);
      else if (p === 0x30 /* 0 connect */) setReady(c);
      else if (p === 0x34 /* 4 connect_error */) c.ws?.close();
    } else if (t === 0x32 /* 2 ping */) c.ws?.send('3');
    else if (t === 0x30 /* 0 open */) c.ws?.send(`40${JSON.stringify({ convs: c.convs })}`);
    return;
  }
  // parley
  if (cfg.storm) {
    onParleyFrameStorm(c, b);
    return;
  }
  const k = b.indexOf(TYPE_KEY);
  const t = k === -1 ? 0 : b[k + TYPE_KEY.length];
  if (t === 0x6d /* message */) scan(c, b);
  // the ack carries the stored message (PROTOCOL.md): the sender's delivery, with its latency
  else if (t === 0x61 /* ack */) scanFirst(c, b);
  else if (t === 0x77 /* welcome */) {
    noteWelcome(b);
    setReady(c);
  } else if (t === 0x70 /* ping */ && b[k + TYPE_KEY.length + 1] === 0x69) {
    const f = JSON.parse(b.toString()) as { ref?: string };
    c.ws?.send(JSON.stringify({ type: 'pong', ref: f.ref }));
  } else if (t === 0x65 /* error */) noteError(b);
}

const frameCounts = new Map<string, number>();

let errors = 0;
let lastError = '';
/** Parley `error` frames with code `rate_limited` (a correct workload never gets one). */
let rateLimited = 0;
/** Connections the server closed outside storm mode (e.g. 4429 flood, 1013 backpressure). */
let lost = 0;
let lastLost = '';
const RATE_LIMITED = Buffer.from('"rate_limited"');
function noteError(b: Buffer): void {
  errors++;
  if (b.indexOf(RATE_LIMITED) !== -1) rateLimited++;
  lastError = b.toString().slice(0, 200);
}
/** Parley's `welcome.limits.rate` as the hub announced it (the first welcome seen). */
let announcedRate: { perSecond: number; burst: number } | null = null;
function noteWelcome(b: Buffer): void {
  if (announcedRate) return;
  const f = JSON.parse(b.toString()) as {
    limits?: { rate?: { perSecond: number; burst: number } };
  };
  if (f.limits?.rate) announcedRate = f.limits.rate;
}

interface PMessage {
  conversationId: string;
  seq: number;
  text: string;
  clientMsgId?: string;
}

/** Storm mode: a faithful (if small) Parley client — cursors, outbox, gap fill, reset refill. */
function onParleyFrameStorm(c: Client, b: Buffer): void {
  const f = JSON.parse(b.toString()) as any;
  const ws = c.ws!;
  const ft = f.type + (f.reason ? `:${f.reason}` : '');
  frameCounts.set(ft, (frameCounts.get(ft) ?? 0) + 1);
  const advance = (m: PMessage) => {
    const cur = c.cursors.get(m.conversationId) ?? { seq: 0 };
    if (m.seq > cur.seq + 1) {
      ws.send(
        JSON.stringify({
          type: 'sync',
          conversationId: m.conversationId,
          after: cur.seq,
          ...(cur.epoch ? { epoch: cur.epoch } : {}),
        }),
      );
    } else if (m.seq === cur.seq + 1) cur.seq = m.seq;
    c.cursors.set(m.conversationId, cur);
    scan(c, Buffer.from(m.text), 0, true);
  };
  switch (f.type) {
    case 'welcome': {
      noteWelcome(b);
      for (const conv of f.conversations as { id: string; seq: number; epoch: string }[]) {
        const cur = c.cursors.get(conv.id);
        if (!cur) c.cursors.set(conv.id, { seq: conv.seq, epoch: conv.epoch });
        else if (!cur.epoch) cur.epoch = conv.epoch;
      }
      c.refilled.clear();
      setReady(c);
      // flush this client's outbox, in order, same clientMsgIds (the hub de-duplicates)
      for (const [id, frame] of outbox) {
        if (outboxOwner.get(id) !== c) continue;
        ws.send(frame);
        outboxSentAt.set(id, now());
      }
      break;
    }
    case 'message':
      advance(f.message as PMessage);
      break;
    case 'ack':
      // the sender's delivery (a retried send's second ack is counted as a duplicate)
      if (typeof f.message?.text === 'string') scan(c, Buffer.from(f.message.text));
      outbox.delete(f.clientMsgId);
      outboxOwner.delete(f.clientMsgId);
      outboxSentAt.delete(f.clientMsgId);
      break;
    case 'replay': {
      for (const m of f.messages as PMessage[]) scan(c, Buffer.from(m.text), 0, true);
      c.cursors.set(f.conversationId, { seq: f.seq, epoch: f.epoch });
      break;
    }
    case 'reset': {
      c.cursors.set(f.conversationId, { seq: f.seq, epoch: f.epoch });
      // The history changed identity (in-memory engine restarted): fetch what it holds now.
      if (f.reason === 'epoch_changed' && f.seq > 0 && !c.refilled.has(f.conversationId)) {
        c.refilled.add(f.conversationId);
        ws.send(
          JSON.stringify({
            type: 'sync',
            conversationId: f.conversationId,
            after: 0,
            epoch: f.epoch,
          }),
        );
      }
      break;
    }
    case 'ping':
      ws.send(JSON.stringify({ type: 'pong', ref: f.ref }));
      break;
    case 'error':
      noteError(b);
      break;
  }
}

function sendOne(): void {
  const c = clients[sender]!;
  sender = (sender + 1) % clients.length;
  const conv = c.convs[c.nextConv]!;
  c.nextConv = (c.nextConv + 1) % c.convs.length;
  const inWindow = sendTag !== 0;
  const id = sendTag * TAG + seq++ * shard.count + shard.index;
  if (inWindow) {
    expected += fanout.get(conv) ?? 0;
    sentInWindow++;
  }
  if (cfg.storm) senderOf.set(id, c.idx);
  const text = payloadText(id);
  let frame: string;
  if (cfg.kind === 'ws') frame = `{"c":"${conv}","p":"${text}"}`;
  else if (cfg.kind === 'socketio') frame = `42["msg",{"c":"${conv}","p":"${text}"}]`;
  else frame = `{"type":"send","conversationId":"${conv}","clientMsgId":"m${id}","text":"${text}"}`;
  if (cfg.kind === 'parley' && cfg.storm) {
    outbox.set(`m${id}`, frame);
    outboxOwner.set(`m${id}`, c);
    outboxSentAt.set(`m${id}`, now());
  }
  if (c.ready && c.ws && c.ws.readyState === WebSocket.OPEN) {
    // client-side backpressure: never queue without bound behind a server that cannot keep up
    if (c.ws.bufferedAmount > MAX_BUFFERED && !(cfg.kind === 'parley' && cfg.storm)) {
      if (inWindow) {
        expected -= fanout.get(conv) ?? 0;
        sentInWindow--;
        backpressured++;
      }
      return;
    }
    c.ws.send(frame);
  } else if (inWindow && !(cfg.kind === 'parley' && cfg.storm)) droppedInWindow++;
}

function tick(): void {
  timer = null;
  if (rate <= 0 || closing) return;
  const due = Math.floor((rate * (now() - rateT0)) / 1000) - rateSent;
  for (let i = 0; i < due; i++) sendOne();
  rateSent += Math.max(0, due);
  timer = setTimeout(tick, 1);
}

// ---------------------------------------------------------------- connections

let readyCount = 0;
const readyWaiters: (() => void)[] = [];
let failed = 0;

function connect(c: Client): void {
  if (closing) return;
  const ws = new WebSocket(urlFor(cfg.kind), cfg.kind === 'parley' ? ['parley.v1'] : [], {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    generateMask: zeroMask,
    handshakeTimeout: cfg.connectTimeoutMs,
  });
  c.ws = ws;
  ws.on('open', () => onOpen(c));
  ws.on('message', (data: Buffer) => onFrame(c, data));
  ws.on('error', () => {});
  ws.on('close', (code: number) => {
    if (c.ws === ws) c.ws = null;
    if (c.ready && !closing && !cfg.storm) {
      lost++;
      lastLost = `closed ${code}`;
    }
    if (c.ready) {
      c.ready = false;
      readyCount--;
    }
    if (!cfg.storm || closing) {
      for (const f of readyWaiters.splice(0)) f();
      return;
    }
    // Same reconnect policy for every system: full jitter, exponential backoff.
    const b = cfg.backoff ?? { firstMs: 500, baseMs: 250, capMs: 4000 };
    const cap = Math.min(b.capMs, c.attempts === 0 ? b.firstMs : b.baseMs * 2 ** c.attempts);
    c.attempts++;
    setTimeout(() => connect(c), Math.random() * cap);
  });
}

async function connectAll(): Promise<{ ready: number; failed: number; ms: number }> {
  const t0 = now();
  let i = 0;
  const deadline = t0 + cfg.connectTimeoutMs;
  const worker = async () => {
    while (i < clients.length && now() < deadline) {
      const c = clients[i++]!;
      connect(c);
      await new Promise<void>((resolve) => {
        const check = () => {
          if (c.ready || !c.ws || now() > deadline) resolve();
          else readyWaiters.push(check);
        };
        check();
      });
      if (!c.ready) failed++;
    }
  };
  const guard = setInterval(() => {
    for (const f of readyWaiters.splice(0)) f();
  }, 200);
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  clearInterval(guard);
  return { ready: readyCount, failed, ms: now() - t0 };
}

function init(c: InitCmd): void {
  cfg = c;
  port = c.port;
  padding = 'x'.repeat(Math.max(0, c.payload));
  const convs = conversationsOfUsers(c.topology);
  const sockets = new Map<number, number>();
  convs.forEach((cs) => {
    for (const cv of cs) sockets.set(cv, (sockets.get(cv) ?? 0) + c.devices);
  });
  // Every member socket gets one frame per message, the sender's included (its echo, or Parley's
  // `ack`), so a message is `sockets` deliveries in every system (issue #15).
  for (const [cv, n] of sockets) fanout.set(convId(cv), n);
  let idx = 0;
  for (let u = 0; u < c.topology.users; u++) {
    for (let d = 0; d < c.devices; d++) {
      clients.push({
        idx: idx++,
        user: u,
        convs: convs[u]!.map(convId),
        nextConv: (u + d) % Math.max(1, convs[u]!.length),
        ws: null,
        ready: false,
        attempts: 0,
        seen: c.storm ? new Set() : null,
        cursors: new Map(),
        refilled: new Set(),
      });
    }
  }
  // users with no conversation never send
  clients = clients.filter((cl) => cl.convs.length > 0);
  if (c.limit !== undefined) clients = clients.slice(0, c.limit);
  shard = c.shard ?? { index: 0, count: 1 };
  clients = clients.filter((cl) => cl.idx % shard.count === shard.index);
  if (c.storm && c.kind === 'parley') setInterval(retryUnacked, 250).unref();
}

async function collect(drainMs: number, stallMs = 2000): Promise<unknown> {
  const t0 = now();
  lastDelivery = Math.max(lastDelivery, t0);
  while (now() - t0 < drainMs) {
    if (delivered >= expected && outbox.size === 0) break;
    if (stallMs && now() - lastDelivery > stallMs && outbox.size === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const wall = (winT1 - winT0) / 1000;
  const cpuUs = cpu1.user - cpu0.user + (cpu1.system - cpu0.system);
  return {
    sent: sentInWindow,
    dropped: droppedInWindow,
    expected,
    delivered,
    duplicates,
    windowS: wall,
    clientCpuPct: wall > 0 ? (cpuUs / 1e6 / wall) * 100 : 0,
    loopP99Ms,
    loopMaxMs,
    hist: hist.toJSON(),
    errors,
    lastError,
    rateLimited,
    lost,
    lastLost,
    outbox: outbox.size,
    drainMs: now() - t0,
    frames: Object.fromEntries(frameCounts),
    ackRetries,
    backpressured,
  };
}

async function handle(m: Cmd): Promise<unknown> {
  switch (m.cmd) {
    case 'init': {
      init(m);
      const r = await connectAll();
      return { ...r, senders: clients.length, announcedRate };
    }
    case 'rate':
      if (m.rate / clients.length > cfg.maxPerSender + 1e-9) {
        throw new Error(
          `${m.rate} msg/s over ${clients.length} sender connections is ${(m.rate / clients.length).toFixed(1)} msg/s each, over the budget of ${cfg.maxPerSender} (the hub's default rate limit): more senders needed`,
        );
      }
      rate = m.rate;
      rateT0 = now();
      rateSent = 0;
      if (rate > 0 && !timer) timer = setTimeout(tick, 0);
      return { ok: true };
    case 'window':
      sendTag = countTag = m.tag;
      hist = new Histogram();
      expected =
        delivered =
        duplicates =
        sentInWindow =
        droppedInWindow =
        errors =
        rateLimited =
        lost =
        backpressured =
          0;
      for (const c of clients) c.seen?.clear();
      winT0 = now();
      cpu0 = process.cpuUsage();
      loop.reset();
      return { ok: true };
    case 'endWindow':
      sendTag = 0; // deliveries of the window's messages still count until the next window
      winT1 = now();
      cpu1 = process.cpuUsage();
      loopP99Ms = loop.count ? loop.percentile(99) / 1e6 : 0;
      loopMaxMs = loop.count ? loop.max / 1e6 : 0;
      return { ok: true };
    case 'collect':
      return collect(m.drainMs, m.stallMs);
    case 'status':
      return {
        ready: readyCount,
        total: clients.length,
        expected,
        delivered,
        outbox: outbox.size,
        dropped: droppedInWindow,
        ackRetries,
        buffered: clients.reduce((n, c) => n + (c.ws?.bufferedAmount ?? 0), 0),
      };
    case 'port':
      port = m.port;
      return { ok: true };
    case 'close':
      closing = true;
      rate = 0;
      for (const c of clients) c.ws?.terminate();
      return { ok: true };
  }
}

process.on('disconnect', () => process.exit(0));
process.on('message', (m: Cmd & { id: number }) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, result }),
    (e: Error) => process.send?.({ id: m.id, error: String(e?.stack ?? e) }),
  );
});
process.send?.({ ready: true });
