/**
 * The cluster of `examples/cluster`: 3 hub processes (spawned with tsx) sharing one Redis, behind
 * the example's round-robin TCP proxy (not sticky). Real Parley clients connect through the proxy;
 * every raw frame each socket receives is recorded, so the checks are about what the SERVER sent,
 * not about what the client's own ordering/de-duplication made of it.
 */
import type { ChildProcess } from 'node:child_process';
import type { Message, ServerFrame } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnHub } from '../../../../examples/cluster/src/main.js';
import {
  type RoundRobinProxy,
  startRoundRobinProxy,
} from '../../../../examples/cluster/src/proxy.js';
import {
  createClient,
  type ParleyClient,
  type Presence,
  type StateChange,
} from '../../../client/src/index.js';
import { is, TestClient } from '../utils/client.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('cluster example');

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
const CONVERSATIONS = {
  fanout: USERS,
  chaos: [...USERS, 'dave'],
  retry: ['u1', 'u2'],
};
const HEARTBEAT_MS = 500;
/** The hub's presence ttl: two missed heartbeats (interval + timeout each). */
const PRESENCE_TTL_MS = 2 * (HEARTBEAT_MS + HEARTBEAT_MS);
const GRACE_MS = 500;

/** Every frame a socket received, by socket, for one client. */
type SocketLog = { frames: ServerFrame[] };

function waitFor<T>(
  what: string,
  check: () => T | undefined,
  subscribe: (wake: () => void) => () => void,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let off = (): void => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const attempt = (): void => {
      const v = check();
      if (v === undefined) return;
      clearTimeout(timer);
      off();
      resolve(v);
    };
    off = subscribe(attempt);
    attempt();
  });
}

/** Seqs of one conversation a socket received as replay/message/ack frames, in arrival order. */
function seqsOn(log: SocketLog, conversationId: string): number[] {
  const out: number[] = [];
  for (const f of log.frames) {
    if (f.type === 'replay' && f.conversationId === conversationId)
      out.push(...f.messages.map((m) => m.seq));
    if (f.type === 'message' && f.message.conversationId === conversationId)
      out.push(f.message.seq);
    if (f.type === 'ack' && !f.duplicate && f.message.conversationId === conversationId)
      out.push(f.message.seq);
  }
  return out;
}

const consecutive = (seqs: number[]): boolean =>
  seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1);

describe.skipIf(!available)(
  'examples/cluster: 3 processes on one Redis behind a round-robin proxy',
  () => {
    const prefix = uniquePrefix();
    let hubs: { child: ChildProcess; port: number }[] = [];
    let proxy: RoundRobinProxy;
    const clients: ParleyClient[] = [];
    const raw: TestClient[] = [];
    /** The hub processes' log lines (JSON), for post-mortems. */
    const logs: string[] = [];

    beforeAll(async () => {
      const env = {
        REDIS_URL,
        PARLEY_KEY_PREFIX: prefix,
        PARLEY_CONVERSATIONS: JSON.stringify(CONVERSATIONS),
        HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
        HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_MS),
        PRESENCE_GRACE_MS: String(GRACE_MS),
      };
      const onLog = (line: string): void => {
        logs.push(line);
      };
      hubs = await Promise.all([spawnHub(env, onLog), spawnHub(env, onLog), spawnHub(env, onLog)]);
      proxy = await startRoundRobinProxy({
        backends: hubs.map((h) => ({ host: '127.0.0.1', port: h.port })),
      });
    }, 60_000);

    afterAll(async () => {
      for (const c of clients) c.close();
      for (const c of raw) c.terminate();
      await proxy?.close();
      await Promise.all(
        hubs.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      await deleteKeys(prefix);
      // Nothing but the expected warnings: no crash, no unhandled error in any process.
      const unexpected = logs.filter((l) => /"level":"error"|Unhandled|uncaught/i.test(l));
      expect(unexpected).toEqual([]);
    }, 30_000);

    /** A Parley client through the proxy whose sockets record every frame they receive. */
    function connect(userId: string): { client: ParleyClient; sockets: SocketLog[] } {
      const sockets: SocketLog[] = [];
      class RecordingWebSocket extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols);
          const log: SocketLog = { frames: [] };
          sockets.push(log);
          this.on('message', (data) => log.frames.push(JSON.parse(String(data)) as ServerFrame));
        }
      }
      const client = createClient({
        url: `ws://127.0.0.1:${proxy.port}/parley`,
        token: userId,
        WebSocket: RecordingWebSocket,
        reconnect: { minDelayMs: 20, maxDelayMs: 300 },
        ackTimeoutMs: 2000,
      });
      clients.push(client);
      return { client, sockets };
    }

    const opened = (c: ParleyClient) =>
      waitFor(
        'open',
        () => (c.state === 'open' ? true : undefined),
        (wake) => c.on('state', wake),
      );

    /** Resolves when the client holds `n` stored messages of the conversation. */
    const holds = (c: ParleyClient, conversationId: string, n: number, timeoutMs = 20_000) =>
      waitFor(
        `${c.userId ?? '?'} to hold ${n} messages of ${conversationId}`,
        () => {
          const stored = c.conversation(conversationId).messages.filter((m) => m.status === 'sent');
          return stored.length >= n ? (stored as Message[]) : undefined;
        },
        (wake) => c.on('message', wake),
        timeoutMs,
      );

    it('delivers every message to every member socket, wherever it is connected, in seq order, exactly once', async () => {
      const before = new Map(proxy.counts);
      // Seven sockets (u1 twice) spread round-robin over the three processes.
      const members = [...USERS.map((u) => connect(u)), connect('u1')];
      await Promise.all(members.map((m) => opened(m.client)));
      const spread = [...proxy.counts].map(([k, v]) => v - (before.get(k) ?? 0));
      expect(spread.length).toBe(3);
      expect(Math.min(...spread)).toBeGreaterThanOrEqual(2);

      // Everyone sends at once: concurrent sends from all three processes into one conversation.
      const perClient = 6;
      const acks = await Promise.all(
        members.flatMap((m, i) =>
          Array.from({ length: perClient }, (_, n) =>
            m.client.conversation('fanout').send(`${i}:${n}`),
          ),
        ),
      );
      const total = members.length * perClient;
      expect(acks.map((a) => a.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );

      for (const m of members) {
        const stored = await holds(m.client, 'fanout', total);
        expect(stored.map((s) => s.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        // What the server sent on each socket: seqs strictly consecutive, each exactly once.
        for (const s of m.sockets) {
          const seqs = seqsOn(s, 'fanout');
          expect(consecutive(seqs)).toBe(true);
          expect(new Set(seqs).size).toBe(seqs.length);
        }
        const all = m.sockets.flatMap((s) => seqsOn(s, 'fanout'));
        expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      }
      for (const m of members) m.client.close();
    }, 60_000);

    it('de-duplicates a retried send that lands on another process', async () => {
      const [p1, p2, p3] = hubs.map((h) => `ws://127.0.0.1:${h.port}/parley`);
      const first = await TestClient.connect(p1!, { token: 'u1' });
      const again = await TestClient.connect(p2!, { token: 'u1' });
      const watcher = await TestClient.connect(p3!, { token: 'u2' });
      raw.push(first, again, watcher);
      const send = {
        type: 'send',
        conversationId: 'retry',
        clientMsgId: 'retry-1',
        text: 'once',
      } as const;
      first.send({ ...send, ref: 'a' });
      const ack1 = await first.next(is('ack', (f) => f.ref === 'a'));
      again.send({ ...send, ref: 'b', text: 'changed on retry' });
      const ack2 = await again.next(is('ack', (f) => f.ref === 'b'));
      expect(ack1.duplicate).toBe(false);
      expect(ack2).toMatchObject({ duplicate: true, message: ack1.message });
      // A marker after the retry: the watcher sees the message once, then the marker.
      again.send({
        type: 'send',
        ref: 'c',
        conversationId: 'retry',
        clientMsgId: 'marker',
        text: 'marker',
      });
      await watcher.next(is('message', (f) => f.message.text === 'marker'));
      expect(
        watcher.frames
          .filter((f) => f.type === 'message')
          .map((f) => (f.type === 'message' ? f.message.seq : 0)),
      ).toEqual([1, 2]);
    });

    it('kill -9 of one process mid-traffic: its clients resume on the others and lose nothing; its gone users go offline within the ttl', async () => {
      const members = USERS.map((u) => connect(u));
      await Promise.all(members.map((m) => opened(m.client)));
      const victim = hubs[2]!;
      // dave is connected straight to the victim and will not come back.
      const dave = await TestClient.connect(`ws://127.0.0.1:${victim.port}/parley`, {
        token: 'dave',
      });
      raw.push(dave);
      const presence: (Presence & { at: number })[] = [];
      members[0]!.client.on('presence', (p) => presence.push({ ...p, at: Date.now() }));
      await waitFor(
        'dave online',
        () => (members[0]!.client.presence('dave')?.online ? true : undefined),
        (w) => members[0]!.client.on('presence', w),
      );
      const reconnects: string[] = [];
      for (const m of members)
        m.client.on(
          'state',
          (s: StateChange) => s.to === 'reconnecting' && reconnects.push(m.client.userId ?? '?'),
        );

      const perClient = 12;
      let killedAt = 0;
      const kill = async (): Promise<void> => {
        killedAt = Date.now();
        await new Promise<void>((resolve) => {
          victim.child.once('exit', () => resolve());
          victim.child.kill('SIGKILL');
        });
      };
      // Each client sends sequentially; the victim is killed once a third of the traffic is stored.
      let sent = 0;
      let killing: Promise<void> | undefined;
      const sends = members.map(async (m, i) => {
        const acks: Message[] = [];
        for (let n = 0; n < perClient; n++) {
          acks.push(await m.client.conversation('chaos').send(`${i}:${n}`));
          sent++;
          if (sent === Math.floor((members.length * perClient) / 3)) killing = kill();
        }
        return acks;
      });
      const acks = (await Promise.all(sends)).flat();
      await killing;
      const total = members.length * perClient;
      expect(acks.map((a) => a.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      expect(reconnects.length).toBeGreaterThanOrEqual(1);

      for (const m of members) {
        const stored = await holds(m.client, 'chaos', total);
        expect(stored.map((s) => s.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        for (const s of m.sockets) expect(consecutive(seqsOn(s, 'chaos'))).toBe(true);
      }

      // dave's presence entry expires (ttl), a surviving process sweeps it: offline for others.
      const offline = await waitFor(
        'dave offline',
        () => presence.find((p) => p.userId === 'dave' && !p.online),
        (w) => members[0]!.client.on('presence', w),
      );
      expect(offline.at - killedAt).toBeLessThan(PRESENCE_TTL_MS + 1000 + 2000);
      // The users who reconnected never flapped to offline.
      expect(presence.filter((p) => p.userId !== 'dave' && !p.online)).toEqual([]);
      // The survivors keep serving.
      const after = await members[1]!.client.conversation('chaos').send('after the crash');
      expect(after.seq).toBe(total + 1);
    }, 90_000);
  },
);
