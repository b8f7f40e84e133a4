/**
 * A runtime harness as a child process (bun/harness.ts under Bun, deno/harness.ts under Deno),
 * driven over its stdin/stdout (harness/rpc.ts). One process serves every fixture of a test
 * file: `start` creates a hub with the suite's world on a fresh port, `dispose` removes it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runArgs, runtimeBinary } from './bin.js';
import type { Ready, Reply, Request } from './harness/rpc.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A runtime the suites run on out of process. */
export interface RuntimeSpec {
  name: 'bun' | 'deno';
  /** The adapter the harness serves with (`PARLEY_ADAPTER`). @default the runtime's own */
  adapter?: 'crossws';
  /**
   * The close code a client sees when the hub terminates its socket: 1006 where the runtime can
   * drop the TCP connection (Bun), 1001 where it can only close (Deno: see src/adapters/deno.ts).
   */
  terminateCode: number;
  /**
   * The runtime drops the TCP connection when a client keeps writing after the server's close
   * frame (Deno 2.x: the close frame, still unread in the client's buffer, is lost with it), so a
   * client closed in the middle of a burst (a flood, 4429) sees 1006 instead of the code.
   */
  dropsCloseDuringBurst: boolean;
}

export const BUN: RuntimeSpec = { name: 'bun', terminateCode: 1006, dropsCloseDuringBurst: false };
/** `@parley/server-adapter/crossws` through crossws's Bun adapter (h3/Nitro/Nuxt on Bun). */
export const BUN_CROSSWS: RuntimeSpec = { ...BUN, adapter: 'crossws' };
export const DENO: RuntimeSpec = { name: 'deno', terminateCode: 1001, dropsCloseDuringBurst: true };

/** Distributes Omit over a union. */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class RemoteRuntime {
  private seq = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private stderr = '';
  private exited: string | undefined;
  readonly ready: Promise<Ready>;

  private constructor(
    readonly spec: RuntimeSpec,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    let onReady!: (r: Ready) => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<Ready>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    const timer = setTimeout(
      () =>
        onFail(new Error(`${spec.name} harness not ready in 60 s: ${this.stderr.slice(-2000)}`)),
      60_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: Reply | Ready;
      try {
        msg = JSON.parse(line) as Reply | Ready;
      } catch {
        this.stderr += `${line}\n`; // stray output (a runtime warning): kept for diagnostics
        return;
      }
      if ('ready' in msg) {
        clearTimeout(timer);
        onReady(msg);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      this.exited = `${spec.name} harness exited (${code ?? signal}): ${this.stderr.slice(-2000)}`;
      onFail(new Error(this.exited));
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** Starts the harness of `spec`; resolves once it is ready for requests. */
  static async start(spec: RuntimeSpec): Promise<RemoteRuntime> {
    const [bin, lead] = runtimeBinary(spec.name);
    const child = spawn(
      bin,
      [...lead, ...runArgs(spec.name, join(here, spec.name, 'harness.ts'))],
      {
        cwd: join(here, '..', '..'),
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NO_COLOR: '1',
          DENO_NO_UPDATE_CHECK: '1',
          ...(spec.adapter === undefined ? {} : { PARLEY_ADAPTER: spec.adapter }),
        },
      },
    );
    const runtime = new RemoteRuntime(spec, child);
    await runtime.ready;
    return runtime;
  }

  /**
   * One request. `timeoutMs` bounds it (a hub call answers in milliseconds); `waitLog` passes
   * `null` and is bounded by the test's own timeout, as the in-process logger's `waitFor` is.
   */
  call<T>(request: Without<Request, 'id'>, timeoutMs: number | null = 30_000): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === null
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(
                new Error(
                  `${this.spec.name} harness: no answer to ${request.op} in ${timeoutMs} ms`,
                ),
              );
            }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** Ends the harness: stdin closes (it disposes of its hubs and exits), SIGKILL after 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    // Pending waits (a `waitLog` nobody needs any more) stay pending, like the in-process ones.
    this.pending.clear();
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }
}
