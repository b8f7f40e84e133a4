/**
 * Runs the demo exactly as `pnpm demo` does (`examples/chat/src/main.ts`, sources through tsx) in a
 * child process, so a test can stop it with Ctrl+C (SIGINT) and start a new process on the same
 * port. Every wait has a deadline; output is kept for the failure message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHAT_DIR = fileURLToPath(new URL('../examples/chat/', import.meta.url));

export interface DemoProcess {
  url: string;
  port: number;
  /** Ctrl+C: the demo closes the hub gracefully (clients get "service restart") and exits. */
  stop(): Promise<void>;
}

export async function startDemo(options: {
  port: number;
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<DemoProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@parley/source', '--import', 'tsx', 'src/main.ts'],
    {
      cwd: CHAT_DIR,
      env: { ...process.env, ...options.env, PORT: String(options.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not print its URL in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const m = /(http:\/\/localhost:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited (${code}) before printing its URL:\n${output}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    stop: () => stop(child, exited, () => output),
  };
}

async function stop(
  child: ChildProcess,
  exited: Promise<number | null>,
  output: () => string,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    exited,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 15_000);
    }),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') {
    child.kill('SIGKILL');
    throw new Error(`demo did not exit within 15 s of Ctrl+C:\n${output()}`);
  }
  if (code !== 0) throw new Error(`demo exited with ${code} after Ctrl+C:\n${output()}`);
}
