/**
 * `pnpm --filter @parley/example-cluster start`: 3 hub processes on 3 ports sharing the Redis at
 * REDIS_URL, behind a round-robin proxy on PORT (default 8080). Connect Parley clients to
 * ws://127.0.0.1:8080/parley with the token `alice`, `bob` or `carol`; kill any one of the three
 * processes and watch its clients resume on the others.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRoundRobinProxy } from './proxy.js';

const serverFile = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Spawns one hub process; resolves with its port once it listens. */
export function spawnHub(
  env: Record<string, string> = {},
  /** Receives the process's log lines (stderr); inherited when omitted. */
  onLog?: (line: string) => void,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@parley/source', serverFile],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, PORT: '0', ...env },
        stdio: ['ignore', 'pipe', onLog === undefined ? 'inherit' : 'pipe'],
      },
    );
    if (onLog !== undefined) createInterface({ input: child.stderr! }).on('line', onLog);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`hub process exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number };
        if (msg.event === 'listening' && msg.port !== undefined) resolve({ child, port: msg.port });
      } catch {
        // not ours
      }
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const hubs = await Promise.all([spawnHub(), spawnHub(), spawnHub()]);
  const proxy = await startRoundRobinProxy({
    port: Number(process.env.PORT ?? 8080),
    backends: hubs.map((h) => ({ host: '127.0.0.1', port: h.port })),
  });
  console.log(`hub processes: ${hubs.map((h) => `pid ${h.child.pid} on :${h.port}`).join(', ')}`);
  console.log(`round-robin proxy: ws://127.0.0.1:${proxy.port}/parley`);
  const stop = async (): Promise<void> => {
    for (const h of hubs) h.child.kill('SIGTERM');
    await proxy.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
