/** Auth, dead links and graceful shutdown against the REAL hub. */
import { ForbiddenError } from '@parley/server-adapter';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientCode,
  createClient,
  type ParleyClient,
  type ReconnectInfo,
  type StateChange,
} from '../../src/index.js';
import { nextEvent } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect(h: TestHub, extra: Partial<Parameters<typeof createClient>[0]> = {}) {
  const c = createClient({
    url: h.url,
    token: 'alice',
    WebSocket: h.WebSocket,
    reconnect: { minDelayMs: 5 },
    ...extra,
  });
  clients.push(c);
  return c;
}

const state = (c: ParleyClient, to: StateChange['to']) =>
  nextEvent<StateChange>(
    (l) => c.on('state', l),
    (s) => s.to === to,
  );

describe('connection lifecycle against the real hub', () => {
  it('refreshes the token after 4401 and connects', async () => {
    hub = await startHub({
      authenticate: ({ token }) => (token === 'good' ? { userId: 'alice' } : null),
    });
    const tokens = ['expired', 'good'];
    const seen: string[] = [];
    const c = connect(hub, {
      token: async () => {
        const t = tokens.shift() ?? 'good';
        seen.push(t);
        return t;
      },
    });
    const codes: number[] = [];
    c.on('reconnect', (r) => codes.push(r.code));
    await state(c, 'open');
    expect(codes).toEqual([4401]);
    expect(seen).toEqual(['expired', 'good']);
  });

  it('stops for good on 4403', async () => {
    hub = await startHub({
      authenticate: () => {
        throw new ForbiddenError('banned');
      },
    });
    const c = connect(hub);
    const closed = await state(c, 'closed');
    expect(closed.code).toBe(4403);
    expect(c.state).toBe('closed');
  });

  it('detects a half-open link by heartbeat and resumes on a new one', async () => {
    hub = await startHub();
    const c = connect(hub, { heartbeat: { intervalMs: 100, timeoutMs: 100 } });
    await state(c, 'open');
    const sent = c.conversation('room').send('before');
    await sent;
    const t0 = Date.now();
    hub.freezeServerSockets();
    const down = await state(c, 'reconnecting');
    expect(down.code).toBe(ClientCode.DeadLink);
    // Bound: intervalMs + timeoutMs after the last inbound frame (plus timer slack).
    expect(Date.now() - t0).toBeLessThan(1_000);
    await state(c, 'open');
    expect((await c.conversation('room').send('after')).seq).toBe(2);
  });

  it('a graceful hub shutdown (1012) keeps auto-reconnect on, honouring the hint', async () => {
    hub = await startHub({ shutdown: { retryJitterMs: 200, batchIntervalMs: 1 } });
    const c = connect(hub);
    await state(c, 'open');
    const info = nextEvent<ReconnectInfo>((l) => c.on('reconnect', l));
    const down = state(c, 'reconnecting');
    await hub.closeHub();
    expect(await down).toMatchObject({ from: 'open', to: 'reconnecting', code: 1012 });
    const r = await info;
    expect(r.code).toBe(1012);
    expect(r.delayMs).toBeLessThan(200);
  });
});
