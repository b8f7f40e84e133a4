/**
 * The callback client: retries network errors / 5xx / timeouts when allowed, never retries a
 * 4xx answer, times out each attempt, and waits for in-flight calls on drain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppContractError, AppUnavailableError, createCaller } from '../src/callbacks.js';
import { createJsonLogger } from '../src/logger.js';
import { type App, startApp } from './helpers.js';

const logger = createJsonLogger({ level: 'silent' });
const settings = { timeoutMs: 300, retries: 2, backoffMs: 1, maxBackoffMs: 5, secret: 's3cret' };
let app: App | undefined;
afterEach(async () => {
  await app?.close();
});

describe('createCaller', () => {
  it('retries 503 then succeeds; sends the secret', async () => {
    let n = 0;
    app = await startApp({ '/x': () => (++n < 3 ? [503, {}] : [200, { ok: true }]) });
    const caller = createCaller(settings, logger);
    await expect(caller.call('x', `${app.url}/x`, { a: 1 }, { retry: true })).resolves.toEqual({
      status: 200,
      body: { ok: true },
    });
    expect(app.calls.map((c) => c.headers.authorization)).toEqual(Array(3).fill('Bearer s3cret'));
    expect(caller.stats().x).toEqual({ calls: 1, retries: 2, failures: 0 });
  });

  it('does not retry without permission, nor any 4xx', async () => {
    app = await startApp({ '/down': () => [500, {}], '/no': () => [422, { reason: 'no' }] });
    const caller = createCaller(settings, logger);
    await expect(
      caller.call('down', `${app.url}/down`, {}, { retry: false }),
    ).rejects.toBeInstanceOf(AppUnavailableError);
    await expect(caller.call('no', `${app.url}/no`, {}, { retry: true })).resolves.toEqual({
      status: 422,
      body: { reason: 'no' },
    });
    expect(app.calls).toHaveLength(2);
  });

  it('times out each attempt and reports the app as unavailable', async () => {
    app = await startApp({
      '/slow': () => new Promise((r) => setTimeout(() => r([200, {}]), 2000)),
    });
    const caller = createCaller({ ...settings, retries: 1 }, logger);
    const err = await caller
      .call('slow', `${app.url}/slow`, {}, { retry: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppUnavailableError);
    expect((err as Error).message).toBe('callback slow unavailable: timed out after 300 ms');
    expect(app.calls).toHaveLength(2);
  });

  it('refused connections are retried and reported; a non-JSON answer is a contract error', async () => {
    app = await startApp({});
    const url = app.url;
    await app.down();
    const caller = createCaller(settings, logger);
    await expect(caller.call('gone', `${url}/x`, {}, { retry: true })).rejects.toThrow(
      /callback gone unavailable: fetch failed/,
    );
    await app.up();
    const { createServer } = await import('node:http');
    const raw = createServer((_q, s) => s.end('<html>'));
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    const port = (raw.address() as { port: number }).port;
    await expect(
      caller.call('html', `http://127.0.0.1:${port}/`, {}, { retry: true }),
    ).rejects.toBeInstanceOf(AppContractError);
    await new Promise((r) => raw.close(r));
  });

  it('reports every call to onCall with its duration and result', async () => {
    app = await startApp({
      '/ok': () => [200, {}],
      '/no': () => [422, { reason: 'no' }],
      '/down': () => [503, {}],
    });
    const seen: [string, string][] = [];
    let settled!: () => void;
    const all = new Promise<void>((r) => {
      settled = r;
    });
    const caller = createCaller(settings, logger, {
      onCall: (name, seconds, result) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        seen.push([name, result]);
        if (seen.length === 3) settled();
      },
    });
    await caller.call('ok', `${app.url}/ok`, {}, { retry: true });
    await caller.call('no', `${app.url}/no`, {}, { retry: true });
    await caller.call('down', `${app.url}/down`, {}, { retry: true }).catch(() => {});
    await all;
    expect(seen).toEqual([
      ['ok', 'answered'],
      ['no', 'answered'],
      ['down', 'unavailable'],
    ]);
  });

  it('drain waits for in-flight calls', async () => {
    app = await startApp({
      '/slow': () => new Promise((r) => setTimeout(() => r([200, {}]), 100)),
    });
    const caller = createCaller(settings, logger);
    const call = caller.call('slow', `${app.url}/slow`, {}, { retry: false });
    expect(caller.inFlight).toBe(1);
    await caller.drain(5000);
    expect(caller.inFlight).toBe(0);
    await expect(call).resolves.toMatchObject({ status: 200 });
  });
});
