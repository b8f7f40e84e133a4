/**
 * The suite passes against Parley's own hub (in-process, memory engine) and fails with a clear
 * report against deliberately broken servers.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createHub, type Hub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CHECKS, formatReport, runConformance } from '../src/index.js';

/** The event the suite sends (`conformance.ping`), with any payload. */
const anyPayload = {
  '~standard': { version: 1 as const, vendor: 'test', validate: (value: unknown) => ({ value }) },
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

async function parley(): Promise<string> {
  const hub = createHub({
    authenticate: ({ token }) => (token?.startsWith('tok-') ? { userId: token.slice(4) } : null),
    conversationsOf: () => ['c1'],
    events: { 'conformance.ping': anyPayload },
  }) as unknown as Hub;
  const server = createServer();
  attachHub(hub, server);
  closers.push(() => hub.close());
  return `ws://127.0.0.1:${await listen(server)}/parley`;
}

/** A server that looks like Parley at hello but breaks the chosen guarantees. */
async function broken(o: { seqs: boolean; trustPayloadIdentity: boolean }): Promise<string> {
  const server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (p) => [...p][0] ?? false });
  let seq = 0;
  const sockets = new Set<import('ws').WebSocket>();
  wss.on('connection', (ws) => {
    let user: string | undefined;
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as Record<string, unknown>;
      if (f.type === 'hello') {
        // Accepts any token (no 4401) and invents the user from it.
        user = String(f.token).replace(/^tok-/, '');
        sockets.add(ws);
        ws.send(
          JSON.stringify({
            type: 'welcome',
            protocol: 1,
            sessionId: 's1',
            user: { id: user },
            conversations: [{ id: 'c1', seq, epoch: 'e1', readSeq: 0, reads: {}, unread: 0 }],
            presence: [],
            heartbeat: { intervalMs: 25000, timeoutMs: 10000 },
            limits: { maxFrameBytes: 65536, maxTextLength: 10000 },
          }),
        );
        return;
      }
      if (f.type === 'send') {
        const message = {
          id: `m${seq + 1}`,
          conversationId: f.conversationId,
          clientMsgId: f.clientMsgId,
          senderId: o.trustPayloadIdentity && typeof f.senderId === 'string' ? f.senderId : user,
          kind: 'user',
          text: f.text,
          createdAt: Date.now(),
          ...(o.seqs ? { seq: ++seq } : {}),
        };
        ws.send(
          JSON.stringify({
            type: 'ack',
            ref: f.ref,
            clientMsgId: f.clientMsgId,
            duplicate: false,
            message,
          }),
        );
        for (const s of sockets) if (s !== ws) s.send(JSON.stringify({ type: 'message', message }));
      }
      // Everything else (ping, typing, bad frames) is silently ignored.
    });
    ws.on('close', () => sockets.delete(ws));
  });
  closers.push(async () => {
    for (const s of wss.clients) s.terminate();
    wss.close();
  });
  return `ws://127.0.0.1:${await listen(server)}/parley`;
}

const base = { tokens: { a: 'tok-alice', b: 'tok-bob' }, conversationId: 'c1', timeoutMs: 400 };

describe('runConformance', () => {
  it('passes against Parley itself', async () => {
    const report = await runConformance({ ...base, url: await parley(), timeoutMs: 3000 });
    // Every check, resume.no_cursor included since issue 16's session start (a conversation
    // missing from the hello's cursors is not replayed).
    expect(
      report.results.filter((r) => r.status !== 'pass').map((r) => r.id),
      formatReport(report),
    ).toEqual([]);
    expect(report.summary).toEqual({ pass: CHECKS.length, fail: 0, skip: 0 });
    expect(report.passed).toBe(true);
  });

  it('fails with a clear report against a server without seqs', async () => {
    const report = await runConformance({
      ...base,
      url: await broken({ seqs: false, trustPayloadIdentity: false }),
    });
    const by = Object.fromEntries(report.results.map((r) => [r.id, r]));
    expect(report.passed).toBe(false);
    expect(by['hello.welcome']!.status).toBe('pass');
    expect(by['send.ack']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ack.message.seq is undefined'),
    });
    expect(by['hello.unauthenticated']).toMatchObject({ status: 'fail' });
    expect(by['ping.pong']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('no pong with ref'),
    });
    expect(by['frame.invalid_field']!.status).toBe('fail');
    expect(by['fanout.members']).toMatchObject({ status: 'skip', detail: 'needs send.ack' });
    const text = formatReport(report);
    expect(text).toMatch(/FAIL {2}send\.ack/);
    expect(text).toContain('DOES NOT CONFORM');
  });

  it("reports a server that takes the sender's identity from the payload and stores retries twice", async () => {
    const report = await runConformance({
      ...base,
      url: await broken({ seqs: true, trustPayloadIdentity: true }),
    });
    const by = Object.fromEntries(report.results.map((r) => [r.id, r]));
    expect(by['send.ack']!.status, by['send.ack']!.detail).toBe('pass');
    expect(by['fanout.members']!.status).toBe('pass');
    expect(by['identity.ignored']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('stored senderId is "conformance-impostor"'),
    });
    expect(by['send.idempotent']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('stored again'),
    });
    expect(report.passed).toBe(false);
  });

  it('reports an unreachable server instead of throwing', async () => {
    const report = await runConformance({ ...base, url: 'ws://127.0.0.1:1/parley' });
    expect(report.results[0]).toMatchObject({
      id: 'hello.welcome',
      status: 'fail',
      detail: expect.stringContaining('cannot connect'),
    });
    expect(report.passed).toBe(false);
  });
});

/**
 * A broken server that leaks credentials: it echoes every frame it gets (the hello's token
 * included, as a field and as raw text) and sends secrets of its own, then never answers.
 */
async function leaky(): Promise<string> {
  const server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: (p) => [...p][0] ?? false });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const raw = String(data);
      ws.send(JSON.stringify({ type: 'echo', got: JSON.parse(raw) as unknown, raw }));
      ws.send(
        JSON.stringify({
          type: 'debug',
          config: { apiKey: 'server-api-key-0123456789', password: 'hunter2-hunter2' },
          session: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
        }),
      );
    });
  });
  closers.push(async () => {
    for (const s of wss.clients) s.terminate();
    wss.close();
  });
  return `ws://127.0.0.1:${await listen(server)}/parley`;
}

const SECRETS = [
  'tok-alice-secret-0001',
  'tok-bob-secret-0002',
  'sid-cookie-secret-0003',
  'bearer-secret-0004',
  'url-secret-0005',
  'server-api-key-0123456789',
  'hunter2-hunter2',
  'eyJhbGciOiJIUzI1NiJ9',
];

describe('credentials never reach a report (issue 19)', () => {
  it('redacts tokens, header values, URL credentials and credential-like fields a server echoes', async () => {
    const url = `${await leaky()}?token=url-secret-0005`;
    const report = await runConformance({
      url,
      tokens: { a: 'tok-alice-secret-0001', b: async () => 'tok-bob-secret-0002' },
      conversationId: 'c1',
      headers: { Cookie: 'sid=sid-cookie-secret-0003', Authorization: 'Bearer bearer-secret-0004' },
      timeoutMs: 300,
      only: ['hello.welcome', 'hello.version'],
    });
    const text = `${formatReport(report)}\n${JSON.stringify(report)}`;
    // The echo was quoted (so the check is real) …
    expect(text).toContain('"type":"echo"');
    expect(text).toContain('[redacted]');
    // … but nothing secret in it.
    for (const secret of SECRETS) expect(text, secret).not.toContain(secret);
  });

  it('the CLI prints no credential of a broken server that echoes them', async () => {
    const url = await leaky();
    const out = await new Promise<string>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--conditions=@parley/source',
          '--import',
          'tsx',
          fileURLToPath(new URL('../src/cli.ts', import.meta.url)),
          url,
          '--conversation',
          'c1',
          '--token-a',
          'tok-alice-secret-0001',
          '--token-b',
          'tok-bob-secret-0002',
          '--header',
          'Cookie: sid=sid-cookie-secret-0003',
          '--timeout',
          '300',
          '--only',
          'hello.welcome,hello.version',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        text += d.toString();
      });
      child.on('exit', (code) => resolve(`${text}\nexit ${code}`));
    });
    expect(out).toContain('DOES NOT CONFORM');
    expect(out).toContain('exit 1');
    expect(out).toContain('[redacted]');
    for (const secret of SECRETS) expect(out, secret).not.toContain(secret);
  }, 30_000);
});
