/**
 * SIGTERM drains: `/readyz` turns 503, clients get `shutdown` + close 1012 and reconnect, a send
 * whose persistence was in flight when the signal came is finished or retried — never lost, never
 * stored twice — and the process exits 0.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type App,
  type Cli,
  client,
  closeClients,
  jwtAuth,
  killAll,
  opened,
  startApp,
  startCli,
  token,
  waitFor,
} from './helpers.js';

let app: App;
const stored = new Map<string, { id: string; text: string }>();
let hold: Promise<void> | undefined;
let release!: () => void;

beforeAll(async () => {
  app = await startApp({
    '/persist': async (body) => {
      const message = body.message as { text: string };
      if (message.text === 'in flight' && hold !== undefined) await hold;
      const key = body.idempotencyKey as string;
      let row = stored.get(key);
      if (row === undefined) {
        row = { id: `app-${stored.size + 1}`, text: message.text };
        stored.set(key, row);
      }
      return [200, { id: row.id }];
    },
  });
});
afterAll(async () => {
  closeClients();
  await killAll();
  await app?.close();
});

it('SIGTERM: clients are told to reconnect (1012); nothing accepted before the signal is lost', async () => {
  const config = {
    auth: jwtAuth,
    persistence: { url: `${app.url}/persist` },
    shutdown: { retryJitterMs: 100, closeTimeoutMs: 1000, drainTimeoutMs: 5000 },
  };
  const first: Cli = await startCli(config);
  const tok = (sub: string) => () => token(sub, { conversations: ['c1'] });
  const a = client(first.url, tok('alice'));
  const b = client(first.url, tok('bob'));
  const restarted = [a, b].map(
    (c) =>
      new Promise<void>((r) => {
        c.on('state', (s) => {
          if (s.code === 1012) r();
        });
      }),
  );
  await Promise.all([opened(a), opened(b)]);
  const received: string[] = [];
  b.conversation('c1').on('message', (m) => received.push(m.text));

  const before = await a.conversation('c1').send('before');
  expect(before.id).toBe('app-1');

  hold = new Promise<void>((r) => {
    release = r;
  });
  const inFlight = a.conversation('c1').send('in flight');
  inFlight.catch(() => {}); // awaited below; keeps a failed run from reporting it twice
  await waitFor(
    app.events,
    'call',
    () => app.calls.some((c) => (c.body.message as { text?: string })?.text === 'in flight'),
    'persist call',
  );

  first.child.kill('SIGTERM');
  await Promise.all(restarted); // both clients saw close 1012
  await first.waitForLog((l) => l.msg === 'draining', 'draining');
  // While callbacks drain: not ready, and no new sockets.
  const ready = await fetch(`http://127.0.0.1:${first.port}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ status: 'draining' });
  expect(a.state).not.toBe('closed'); // a shutdown never stops the client

  release();
  expect(await first.exited).toEqual({ code: 0, signal: null });
  expect(first.logs.some((l) => l.msg === 'stopped')).toBe(true);

  // The next process on the same address: the client resends with the same clientMsgId and the
  // app's idempotency key makes it the same stored message.
  hold = undefined;
  const second = await startCli({ ...config, port: first.port });
  const m = await inFlight;
  expect(m).toMatchObject({ text: 'in flight', status: 'sent', id: 'app-2' });
  expect([...stored.values()].map((r) => r.text).sort()).toEqual(['before', 'in flight']);
  // The memory engine's history died with the first process (clients get a `reset` for the new
  // epoch); the new process holds the resent message exactly once.
  const late = client(second.url, tok('bob'));
  const c1 = late.conversation('c1');
  // A fresh client holds no history: opening the conversation fetches its newest page.
  void c1.open().catch(() => undefined);
  await waitFor(
    c1,
    'update',
    () => c1.messages.some((x) => x.text === 'in flight') || undefined,
    'the message in the new history',
  );
  expect(c1.messages.filter((x) => x.text === 'in flight')).toHaveLength(1);
  expect(received.filter((t) => t === 'in flight').length).toBeLessThanOrEqual(1);
  await second.kill('SIGTERM');
});
