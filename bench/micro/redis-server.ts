/**
 * A redis-server of a micro-benchmark's own: a free port on 127.0.0.1, no persistence, ready once
 * it answers PING (5 s deadline), killed with `kill()`. Shared by the Redis micro-benchmarks.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface PrivateRedis {
  port: number;
  /** The process, for its CPU time in /proc. */
  pid: number;
  url: string;
  kill(): void;
}

export async function startRedisServer(): Promise<PrivateRedis> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  const deadline = Date.now() + 5_000;
  for (;;) {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    const up = await probe
      .connect()
      .then(() => probe.ping())
      .then(
        (r) => r === 'PONG',
        () => false,
      );
    probe.disconnect();
    if (up) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`redis-server on port ${port} did not answer within 5 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, url: `redis://127.0.0.1:${port}`, kill };
}
