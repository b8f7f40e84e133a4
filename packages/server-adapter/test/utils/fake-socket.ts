/** A socket without a socket library, for driving the hub core directly (often with fake timers). */

import { decodeServerFrame, type ServerFrame } from '@parley/protocol';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import type { Hub } from '../../src/hub/hub.js';
import type { RequestInfo } from '../../src/hub/options.js';

export class FakeSocket {
  frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  terminated = false;
  pings = 0;
  buffered = 0;
  handlers!: ReturnType<Hub['open']>;
  send(data: string): void {
    this.frames.push(decodeServerFrame(data));
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    queueMicrotask(() => this.handlers.onClose(code, reason));
  }
  terminate(): void {
    this.terminated = true;
    queueMicrotask(() => this.handlers.onClose(1006, ''));
  }
  ping(): void {
    this.pings++;
  }
  of<K extends ServerFrame['type']>(type: K): Extract<ServerFrame, { type: K }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: K }> => f.type === type);
  }
}

/**
 * A socket that said `hello` with `token` and got `welcome` (under fake timers: the clock is
 * advanced by 0 ms for the session start's engine calls).
 */
export async function openFakeSocket(hub: Hub, token: string): Promise<FakeSocket> {
  const s = new FakeSocket();
  s.handlers = hub.open(s, request);
  s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token }));
  await vi.advanceTimersByTimeAsync(0);
  expect(s.of('welcome')).toHaveLength(1);
  return s;
}

export const request: RequestInfo = {
  headers: {},
  url: '/parley',
  remoteAddress: '127.0.0.1',
  cookies: {},
  origin: undefined,
  protocols: ['parley.v1'],
};

/**
 * Fake timers around every test of the enclosing `describe`, and after each test the hub it made
 * (`current()`) closed with its timers run out, so that no test leaks a timer into the next.
 */
export function fakeTimersClosing(current: () => Hub | undefined): void {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    const closing = current()?.close();
    await vi.runAllTimersAsync();
    await closing;
    vi.useRealTimers();
  });
}
