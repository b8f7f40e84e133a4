/**
 * `@parley/client` under Bun and Deno, against a hub in Node (node:http adapter): the client
 * script (script.ts beside this file) runs under each runtime, with the runtime's global
 * `WebSocket` and with the client's default, connects, sends, receives, and resumes after the
 * hub cuts its link — the messages published while it was away replayed, in order, once.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../../../src/engines/memory/index.js';
import { is } from '../../utils/client.js';
import { useFixture } from '../../utils/fixture.js';
import { tServers } from '../../utils/servers.js';
import { runArgs, runtimeBinary } from '../bin.js';

const here = dirname(fileURLToPath(import.meta.url));

type Reported =
  | { event: 'state'; to: string; code: number }
  | { event: 'message'; seq: number; text: string }
  | { event: 'sent'; seq: number; id: string }
  | { event: 'closed' };

/** The script under a runtime, with what it reported so far and a wait for the next report. */
function runScript(
  runtime: 'bun' | 'deno',
  url: string,
  token: string,
  impl: 'global' | 'default',
) {
  const [bin, lead] = runtimeBinary(runtime);
  const child: ChildProcessWithoutNullStreams = spawn(
    bin,
    [...lead, ...runArgs(runtime, join(here, 'script.ts')), url, token, impl],
    {
      cwd: join(here, '..', '..', '..'),
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    },
  );
  const reports: Reported[] = [];
  let stderr = '';
  let wake: (() => void) | undefined;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      reports.push(JSON.parse(line) as Reported);
    } catch {
      stderr += `${line}\n`;
    }
    wake?.();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.once('exit', () => wake?.());
  return {
    reports,
    exited,
    /** Resolves once `check(reports)` holds; fails after `timeoutMs` with what was reported. */
    async until(what: string, check: (r: Reported[]) => boolean, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(reports)) {
        if (child.exitCode !== null) throw new Error(`${runtime} exited: ${stderr.slice(-2000)}`);
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `${runtime}: no ${what} in ${timeoutMs} ms; reported ${JSON.stringify(reports)}; ${stderr.slice(-2000)}`,
          );
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
    /** Closes stdin: the script closes its client and exits. */
    end: () => child.stdin.end(),
    kill: () => child.kill('SIGKILL'),
  };
}

const kills: (() => void)[] = [];
afterEach(() => {
  for (const k of kills.splice(0)) k();
});

describe.each(['bun', 'deno'] as const)('@parley/client under %s', (runtime) => {
  const setup = useFixture({ start: tServers[0]!.start, engine: () => createMemoryEngine() });

  it.each(['global', 'default'] as const)(
    // global: the runtime's own WebSocket; default: the client's isomorphic-ws (the runtime's `ws`)
    'connects, sends, receives, and resumes after the hub cuts its link (%s WebSocket)',
    async (impl) => {
      const f = await setup();
      const bob = await f.connect('bob');
      const script = runScript(runtime, f.server.url, 'alice', impl);
      kills.push(script.kill);
      const messages = (r: Reported[]) =>
        r.flatMap((x) => (x.event === 'message' ? [[x.seq, x.text] as const] : []));

      // connect + send: stored, acked on the runtime's side, delivered to bob in Node
      await script.until('sent', (r) => r.some((x) => x.event === 'sent'));
      const hello = await bob.next(is('message'));
      expect(hello.message).toMatchObject({
        seq: 1,
        senderId: 'alice',
        text: `hello from ${runtime}`,
      });
      expect(script.reports.find((x) => x.event === 'sent')).toMatchObject({
        seq: 1,
        id: hello.message.id,
      });

      // receive
      await f.server.hub.publish('c1', { text: 'm2' });
      await script.until('m2', (r) => messages(r).length === 2);

      // resume: the hub closes the link (1012, retry); what is published meanwhile is replayed
      await f.server.hub.disconnectUser('alice', { code: 1012, reason: 'restart' });
      await f.server.hub.publish('c1', { text: 'm3' });
      await f.server.hub.publish('c1', { text: 'm4' });
      await script.until('m4', (r) => messages(r).length === 4);
      expect(messages(script.reports)).toEqual([
        [1, `hello from ${runtime}`],
        [2, 'm2'],
        [3, 'm3'],
        [4, 'm4'],
      ]);
      const states = script.reports.flatMap((x) => (x.event === 'state' ? [[x.to, x.code]] : []));
      expect(states).toEqual([
        ['open', 3004],
        ['reconnecting', 1012],
        ['open', 3004],
      ]);

      // live again after the resume
      await f.server.hub.publish('c1', { text: 'm5' });
      await script.until('m5', (r) => messages(r).length === 5);
      script.end();
      await script.until('closed', (r) => r.some((x) => x.event === 'closed'));
      expect(await script.exited).toBe(0);
    },
    60_000,
  );
});
