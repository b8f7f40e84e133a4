/**
 * Micro-benchmark of the hub's send path (issue 15), without sockets or a network: one sender
 * and nine other members of 500 conversations on the memory engine, the sender's `send` frames fed
 * to the hub as `ws` would (strings), 64 in flight, each answered by its `ack` and fanned out to
 * the nine others (given as bytes, as the `ws` adapter takes them). Prints the hub's CPU time per
 * message: the per-message work of the real benchmark without the socket writes. Not a test and
 * not the product figure (that is `pnpm bench`): a quick before/after for one change. Without
 * `--conditions=@parley/source` it runs the built package (`dist/`); HUB_DIST=<path to a built
 * index.js> runs another build (an A/B against an older commit).
 *
 *   npx tsx bench/micro/hub-send.ts [messages=50000]
 */
import type * as Adapter from '@parley/server-adapter';

const mod = (
  process.env.HUB_DIST ? await import(process.env.HUB_DIST) : await import('@parley/server-adapter')
) as typeof Adapter;
const N = Number(process.argv[2] ?? 50_000);
const MEMBERS = 10;
const IN_FLIGHT = 64;
// Round-robin over 500 conversations (every member in each), as the benchmark spreads its load:
// no conversation reaches the history's or the dedupe window's bounds.
const CONVERSATIONS = Array.from({ length: 500 }, (_, i) => `c${i}`);

const request = {
  headers: {},
  url: '/parley',
  remoteAddress: '127.0.0.1',
  cookies: {},
  origin: undefined,
  protocols: ['parley.v1'],
};

let acks = 0;
let deliveries = 0;
let onAck: () => void = () => {};

class CountingSocket {
  handlers!: ReturnType<Adapter.Hub['open']>;
  constructor(private readonly sender: boolean) {}
  send(): void {}
  sendBytes(data: Uint8Array): void {
    // `{"type":"ack"…`: the tenth byte is the type's first letter.
    if (this.sender && data[9] === 0x61 && data[10] === 0x63) {
      acks++;
      onAck();
    } else deliveries++;
  }
  bufferedAmount(): number {
    return 0;
  }
  close(): void {}
  terminate(): void {}
  ping(): void {}
}

const hub = mod.createHub({
  authenticate: ({ token }) => (token ? { userId: token } : null),
  conversationsOf: () => CONVERSATIONS,
  limits: { rate: { burst: 1e9, perSecond: 1e9 } },
});
const sockets: CountingSocket[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const s = new CountingSocket(i === 0);
  s.handlers = hub.open(s, request);
  s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: `u${i}` }));
  sockets.push(s);
}
await new Promise((r) => setTimeout(r, 100));
const sender = sockets[0]!;
const text = 'x'.repeat(100);
let sent = 0;
let next = 0;
const sendOne = () =>
  sender.handlers.onMessage(
    `{"type":"send","conversationId":"c${next++ % 500}","clientMsgId":"${crypto.randomUUID()}","text":"${text}"}`,
  );
const run = async (count: number) => {
  const target = acks + count;
  await new Promise<void>((resolve) => {
    onAck = () => {
      if (acks >= target) resolve();
      else if (sent < target) {
        sent++;
        queueMicrotask(sendOne); // not inside the hub's own call: no recursion
      }
    };
    for (let i = 0; i < IN_FLIGHT && sent < target; i++) {
      sent++;
      sendOne();
    }
  });
};
await run(Math.min(5_000, N)); // warm up
const d0 = deliveries;
const c0 = process.cpuUsage();
const t0 = performance.now();
await run(N);
const cpu = process.cpuUsage(c0);
const wall = performance.now() - t0;
const perMsg = ((cpu.user + cpu.system) / N).toFixed(2);
console.log(
  `${N} messages: ${perMsg} µs CPU per message (${((wall * 1000) / N).toFixed(2)} µs wall), ${(deliveries - d0) / N} deliveries each`,
);
await hub.close();
