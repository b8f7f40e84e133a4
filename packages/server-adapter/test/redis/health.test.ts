/**
 * The health check's loop itself (no Redis): a round that throws is logged and the next round
 * still comes, with no unhandled rejection (which would end the process).
 */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { watchHealth } from '../../src/engines/redis/health.js';

describe('redis engine health check loop', () => {
  it('keeps checking after a round that throws, and logs it', async () => {
    const warnings: string[] = [];
    const noop = () => {};
    const logger = {
      debug: noop,
      info: noop,
      error: noop,
      warn: (_o: object, m?: string) => warnings.push(m ?? ''),
    };
    let rounds = 0;
    const pinged = new Promise<void>((resolve) => {
      // A link whose PING answers: reached only if the loop survived the rounds that threw.
      const conn = {
        status: 'ready',
        ping: () => {
          resolve();
          return Promise.resolve('PONG');
        },
      } as unknown as Redis;
      const stop = watchHealth(
        () => {
          rounds++;
          if (rounds <= 2) throw new Error('ioredis internals not as expected');
          stop();
          return [{ conn, name: 'commands' }];
        },
        { intervalMs: 10, timeoutMs: 1_000 },
        logger,
      );
    });
    await pinged;
    expect(rounds).toBe(3);
    expect(warnings).toEqual([
      'parley redis engine: health check failed',
      'parley redis engine: health check failed',
    ]);
  });
});
