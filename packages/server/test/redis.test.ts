/**
 * The Redis engine selected by configuration: two CLI processes share one Redis; a message sent
 * on one reaches a member connected to the other, and the publish API of either reaches both.
 * Skipped loudly when no Redis answers on 127.0.0.1:6379 (CI starts one, so CI=true requires it).
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import type { StoredMessage } from '@parley/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  api,
  client,
  closeClients,
  jwtAuth,
  killAll,
  opened,
  startCli,
  token,
} from './helpers.js';

const redisUp = await new Promise<boolean>((res) => {
  const s = connect(6379, '127.0.0.1');
  s.once('connect', () => {
    s.destroy();
    res(true);
  });
  s.once('error', () => res(false));
});
if (!redisUp)
  process.stderr.write(
    '\n!!! no Redis on 127.0.0.1:6379: SKIPPING the parley-server Redis test !!!\n\n',
  );

it('Redis is available (required under CI=true)', () => {
  expect(redisUp || process.env.CI !== 'true').toBe(true);
});

const keyPrefix = `parley-server-test-${crypto.randomUUID()}:`;
afterAll(async () => {
  closeClients();
  await killAll();
  // Best effort: drop this run's keys (history, presence) if redis-cli is installed.
  if (redisUp)
    spawnSync('sh', ['-c', `redis-cli --scan --pattern '${keyPrefix}*' | xargs -r redis-cli del`], {
      stdio: 'ignore',
    });
});

describe.skipIf(!redisUp)('engine: redis', () => {
  it('fans out across two server processes', async () => {
    const config = {
      auth: jwtAuth,
      api: { key: API_KEY },
      engine: {
        type: 'redis' as const,
        url: 'redis://127.0.0.1:6379',
        keyPrefix,
      },
    };
    const [one, two] = await Promise.all([startCli(config), startCli(config)]);
    expect(one.logs.find((l) => l.msg === 'listening')).toMatchObject({ engine: 'redis' });
    const a = client(one.url, () => token('alice', { conversations: ['r1'] }));
    const b = client(two.url, () => token('bob', { conversations: ['r1'] }));
    await Promise.all([opened(a), opened(b)]);
    const atBob = new Promise<StoredMessage>((r) => b.conversation('r1').on('message', r));
    const sent = await a.conversation('r1').send('across processes');
    expect(await atBob).toMatchObject({ id: sent.id, seq: 1, senderId: 'alice' });
    const atAlice = new Promise<StoredMessage>((r) => a.conversation('r1').on('message', r));
    expect(
      (
        await api(two.api, 'POST', '/v1/conversations/r1/messages', {
          text: 'from the API of process two',
        })
      ).status,
    ).toBe(201);
    expect(await atAlice).toMatchObject({ seq: 2, kind: 'system' });
    await Promise.all([one.kill('SIGTERM'), two.kill('SIGTERM')]);
  });
});
