/**
 * A transport without WebSocket-level pings (Deno's server WebSocket, crossws peers): the hub's
 * heartbeat falls back to app-level `ping` frames and takes the client's `pong` frame as the
 * answer, so a live client keeps its session and a dead link is still terminated within
 * `intervalMs + timeoutMs`. Fake timers: the timing is the point.
 */
import { decodeServerFrame, type ServerFrame } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HubSocket } from '../../src/hub/connection.js';
import { createHub, type Hub } from '../../src/hub/hub.js';
import type { RequestInfo } from '../../src/hub/options.js';

/** A socket with `send`/`close`/`terminate` and no `ping`. */
class PinglessSocket implements HubSocket {
  frames: ServerFrame[] = [];
  terminated = false;
  handlers!: ReturnType<Hub['open']>;
  send(data: string): void {
    this.frames.push(decodeServerFrame(data));
  }
  bufferedAmount(): number {
    return 0;
  }
  close(code: number, reason: string): void {
    queueMicrotask(() => this.handlers.onClose(code, reason));
  }
  terminate(): void {
    this.terminated = true;
    queueMicrotask(() => this.handlers.onClose(1006, ''));
  }
  pings(): Extract<ServerFrame, { type: 'ping' }>[] {
    return this.frames.filter(
      (f): f is Extract<ServerFrame, { type: 'ping' }> => f.type === 'ping',
    );
  }
}

const request: RequestInfo = {
  headers: {},
  url: '/parley',
  remoteAddress: '127.0.0.1',
  cookies: {},
  origin: undefined,
  protocols: ['parley.v1'],
};

describe('heartbeat over a transport without WebSocket pings', () => {
  let hub: Hub;
  beforeEach(() => {
    vi.useFakeTimers();
    hub = createHub({
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1'],
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
    });
  });
  afterEach(async () => {
    const closing = hub.close();
    await vi.runAllTimersAsync();
    await closing;
    vi.useRealTimers();
  });

  const open = async (token: string): Promise<PinglessSocket> => {
    const s = new PinglessSocket();
    s.handlers = hub.open(s, request);
    s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token }));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.frames.map((f) => f.type)).toContain('welcome');
    return s;
  };

  it('sends app-level pings; a client answering pong stays, a silent one is terminated', async () => {
    const live = await open('alice');
    const dead = await open('bob');
    for (let round = 1; round <= 3; round++) {
      await vi.advanceTimersByTimeAsync(1000);
      expect(live.pings()).toHaveLength(round);
      const ping = live.pings().at(-1)!;
      live.handlers.onMessage(JSON.stringify({ type: 'pong', ref: ping.ref }));
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(dead.pings()).toHaveLength(1);
    expect(dead.terminated).toBe(true);
    expect(live.terminated).toBe(false);
    expect(hub.stats()).toMatchObject({ sessions: 1, heartbeatTimeouts: 1 });
  });
});
