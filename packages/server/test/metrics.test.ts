/**
 * Prometheus metrics on `/metrics`, scraped from the CLI: the hub's totals and events (sessions,
 * frames, stored messages, replays, resets, closes by code), callback latency histograms, the
 * optional scrape key; and the switch that turns them off.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createJsonLogger, parseConfig, startServer } from '../src/index.js';
import {
  type App,
  type Cli,
  client,
  closeClients,
  jwtAuth,
  killAll,
  opened,
  SECRET,
  startApp,
  startCli,
  token,
} from './helpers.js';

const METRICS_KEY = 'scrape-key';
let app: App;
let cli: Cli;

beforeAll(async () => {
  app = await startApp({ '/persist': () => [200, {}] });
  cli = await startCli({
    auth: jwtAuth,
    persistence: { url: `${app.url}/persist` },
    metrics: { key: METRICS_KEY },
  });
});
afterAll(async () => {
  closeClients();
  await killAll();
  await app?.close();
});

/** One sample per `name{labels}` key, labels in the order the exposition gives them. */
async function scrape(key: string | null = METRICS_KEY) {
  const res = await fetch(`${cli.api}/metrics`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
  });
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { res, text, samples };
}

/**
 * Scrapes until `name` reaches `atLeast`. Only for values the server updates after the client saw
 * the outcome (a close completes on the server after the client's close event), with a deadline.
 */
async function scrapeUntil(name: string, atLeast: number, timeoutMs = 8000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = (await scrape()).samples.get(name) ?? 0;
    if (v >= atLeast) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out: ${name} is ${v}, expected at least ${atLeast}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A raw hello with cursors; resolves with the first replay/reset frame. */
function resumeWith(
  tok: string,
  cursors: Record<string, { seq: number; epoch?: string }>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cli.url, ['parley.v1']);
    const timer = setTimeout(() => reject(new Error('no replay/reset within 8 s')), 8000);
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, token: tok, cursors })),
    );
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as Record<string, unknown>;
      if (f.type === 'replay' || f.type === 'reset') {
        clearTimeout(timer);
        ws.close();
        resolve(f);
      }
    });
    ws.on('error', () => {});
  });
}

describe('/metrics', () => {
  it('asks for the configured key', async () => {
    expect((await scrape(null)).res.status).toBe(401);
    expect((await scrape('wrong')).res.status).toBe(401);
    const ok = await scrape();
    expect(ok.res.status).toBe(200);
    expect(ok.res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // Node's process metrics come with the same prefix.
    expect(ok.text).toMatch(/^parley_process_resident_memory_bytes \d+/m);
  });

  it('counts connections, frames, stored messages and callback latency', async () => {
    const before = (await scrape()).samples;
    const a = client(cli.url, () => token('alice', { conversations: ['m1'] }));
    const b = client(cli.url, () => token('bob', { conversations: ['m1'] }));
    await Promise.all([opened(a), opened(b)]);
    for (const text of ['one', 'two', 'three']) await a.conversation('m1').send(text);
    const { samples: s } = await scrape();
    const grew = (name: string) => (s.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(s.get('parley_connections')).toBeGreaterThanOrEqual(2);
    expect(s.get('parley_sessions')).toBeGreaterThanOrEqual(2);
    expect(grew('parley_messages_stored_total')).toBe(3);
    expect(grew('parley_frames_in_total')).toBeGreaterThanOrEqual(5); // 2 hellos + 3 sends
    expect(grew('parley_frames_out_total')).toBeGreaterThanOrEqual(2 + 3 + 3); // welcomes, acks, bob's copies
    expect(grew('parley_message_store_seconds_count{kind="user"}')).toBe(3);
    expect(grew('parley_session_start_seconds_count')).toBe(2);
    expect(
      grew('parley_callback_duration_seconds_count{callback="persist",result="answered"}'),
    ).toBe(3);
    expect(grew('parley_callback_calls_total{callback="persist"}')).toBe(3);
    expect(s.get('parley_slow_consumer_closes_total')).toBe(0);
    // A histogram has its buckets: the latency of every persist call is under +Inf.
    expect(
      s.get(
        'parley_callback_duration_seconds_bucket{le="+Inf",callback="persist",result="answered"}',
      ),
    ).toBe(s.get('parley_callback_duration_seconds_count{callback="persist",result="answered"}'));
  });

  it('counts replays (with their messages) and resets (by reason)', async () => {
    const tok = await token('carol', { conversations: ['m2'] });
    const c = client(cli.url, tok);
    await opened(c);
    await c.conversation('m2').send('a');
    await c.conversation('m2').send('b');
    const before = (await scrape()).samples;
    const replay = await resumeWith(tok, { m2: { seq: 0 } });
    expect(replay).toMatchObject({ type: 'replay', seq: 2 });
    const reset = await resumeWith(tok, { m2: { seq: 1, epoch: 'not-this-one' } });
    expect(reset).toMatchObject({ type: 'reset', reason: 'epoch_changed' });
    const { samples: s } = await scrape();
    const grew = (name: string) => (s.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(grew('parley_replays_total')).toBe(1);
    expect(grew('parley_replayed_messages_total')).toBe(2);
    expect(grew('parley_resets_total{reason="epoch_changed"}')).toBe(1);
  });

  it('counts closes by code; codes Parley does not use are "other"', async () => {
    const bad = new WebSocket(cli.url, ['parley.v1']);
    bad.on('open', () => bad.send(JSON.stringify({ type: 'hello', protocol: 1, token: 'nope' })));
    bad.on('error', () => {});
    const before = (await scrape()).samples.get('parley_connection_closes_total{code="4401"}') ?? 0;
    await scrapeUntil('parley_connection_closes_total{code="4401"}', before + 1);
    const odd = new WebSocket(cli.url, ['parley.v1']);
    odd.on('error', () => {});
    await new Promise((r) => odd.once('open', r));
    const others =
      (await scrape()).samples.get('parley_connection_closes_total{code="other"}') ?? 0;
    odd.close(4999, 'bye');
    await scrapeUntil('parley_connection_closes_total{code="other"}', others + 1);
  });
});

it('metrics.enabled false: no /metrics', async () => {
  const server = await startServer(
    parseConfig({
      host: '127.0.0.1',
      port: 0,
      auth: { jwt: { secret: SECRET } },
      metrics: { enabled: false },
    }),
    { logger: createJsonLogger({ level: 'silent' }) },
  );
  try {
    expect((await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).status).toBe(404);
  } finally {
    await server.close();
  }
});
