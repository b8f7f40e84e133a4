/**
 * What one idle connection keeps on the hub's heap, by object type (issue 15, idle memory): a hub
 * with the memory engine and the bench's topology (2 users per conversation slot, 5 conversations
 * each) in a child process, N clients connected from this one, a heap snapshot before and after,
 * and the difference per connection by V8 type and constructor. With a type (`object:Set`,
 * `closure:`, `array:` …) it also lists what retains the new objects of that type. Not a test and
 * not the product figure (that is `pnpm bench --scenarios=idle`): a quick before/after.
 *
 *   npx tsx --conditions=@parley/source bench/micro/idle-heap.ts [connections=2000] [type]
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createHub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import WebSocket from 'ws';

const N = Number(process.argv[2] ?? 2000);

if (process.argv[2] === 'server') {
  const users = Number(process.argv[3]);
  const convsOf: string[][] = Array.from({ length: users }, () => []);
  for (let c = 0; c < users / 2; c++)
    for (let k = 0; k < 10; k++) convsOf[(c * 10 + k) % users]!.push(`c${c}`);
  const hub = createHub({
    authenticate: async ({ token }) => (token ? { userId: token } : null),
    conversationsOf: async (u) => convsOf[Number(u.slice(1))] ?? [],
  });
  const http = createServer();
  attachHub(hub, http, { path: '/parley' });
  http.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (http.address() as { port: number }).port });
  });
  const gc = (globalThis as { gc?: () => void }).gc!;
  process.on('message', () => {
    gc();
    gc();
    process.send?.({
      file: writeHeapSnapshot(join(tmpdir(), `idle-heap-${Date.now()}.heapsnapshot`)),
    });
  });
} else {
  const child = fork(process.argv[1]!, ['server', String(N)], {
    execArgv: [...process.execArgv, '--expose-gc'],
  });
  const next = <T>(): Promise<T> => new Promise((r) => child.once('message', (m) => r(m as T)));
  const { port } = await next<{ port: number }>();
  child.send('snapshot');
  const before = (await next<{ file: string }>()).file;
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from(
      { length: N },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/parley`, ['parley.v1']);
          ws.on('open', () =>
            ws.send(JSON.stringify({ type: 'hello', protocol: 1, token: `u${i}` })),
          );
          ws.once('message', () => resolve());
          ws.on('error', reject);
          sockets.push(ws);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000));
  child.send('snapshot');
  const after = (await next<{ file: string }>()).file;
  for (const ws of sockets) ws.terminate();
  child.kill();
  report(before, after, process.argv[3]);
  rmSync(before);
  rmSync(after);
}

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function report(beforeFile: string, afterFile: string, focus: string | undefined): void {
  const a = JSON.parse(readFileSync(beforeFile, 'utf8')) as Snapshot;
  const b = JSON.parse(readFileSync(afterFile, 'utf8')) as Snapshot;
  const m = b.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [ti, ni, ii, si, ei] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    m.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const old = new Set<number>();
  for (let i = 0; i < a.nodes.length; i += nf) old.add(a.nodes[i + ii]!);
  const kind = (i: number): string => {
    const t = m.node_types[0][b.nodes[i + ti]!]!;
    const name = t.includes('string') ? '' : t === 'code' ? '' : b.strings[b.nodes[i + ni]!]!;
    return `${t}:${name.slice(0, 60)}`;
  };
  const byKind = new Map<string, [number, number]>();
  for (let i = 0; i < b.nodes.length; i += nf) {
    if (old.has(b.nodes[i + ii]!)) continue;
    const e = byKind.get(kind(i)) ?? [0, 0];
    e[0]++;
    e[1] += b.nodes[i + si]!;
    byKind.set(kind(i), e);
  }
  const rows = [...byKind].sort((x, y) => y[1][1] - x[1][1]);
  const total = rows.reduce((s, [, [, bytes]]) => s + bytes, 0);
  console.log(`new objects: ${(total / N).toFixed(0)} B per connection (${N} connections)`);
  console.log('B/conn  count/conn  type:constructor');
  for (const [k, [count, bytes]] of rows.slice(0, 30)) {
    console.log(
      `${(bytes / N).toFixed(0).padStart(6)}  ${(count / N).toFixed(2).padStart(10)}  ${k}`,
    );
  }
  if (focus === undefined) return;
  // First retainer of every node (weak edges skipped), to name what holds the focused type.
  const eti = m.edge_fields.indexOf('type');
  const eni = m.edge_fields.indexOf('name_or_index');
  const eto = m.edge_fields.indexOf('to_node');
  const count = b.nodes.length / nf;
  const holder = new Int32Array(count).fill(-1);
  const via: string[] = new Array(count);
  for (let n = 0, e = 0; n < count; n++) {
    const name = b.strings[b.nodes[n * nf + ni]!]!;
    for (let k = 0; k < b.nodes[n * nf + ei]!; k++, e += ef) {
      const et = m.edge_types[0][b.edges[e + eti]!]!;
      const to = b.edges[e + eto]! / nf;
      if (et === 'weak' || et === 'shortcut' || holder[to] !== -1 || name.startsWith('(')) continue;
      holder[to] = n;
      via[to] = ['element', 'hidden', 'internal'].includes(et)
        ? '[]'
        : b.strings[b.edges[e + eni]!]!;
    }
  }
  const paths = new Map<string, number>();
  for (let n = 0; n < count; n++) {
    if (old.has(b.nodes[n * nf + ii]!) || kind(n * nf) !== focus) continue;
    const path: string[] = [];
    for (let cur = n, d = 0; d < 4 && holder[cur] !== -1; d++, cur = holder[cur]!) {
      path.push(`${b.strings[b.nodes[holder[cur]! * nf + ni]!]!.slice(0, 30)}.${via[cur]}`);
    }
    const key = path.join(' < ');
    paths.set(key, (paths.get(key) ?? 0) + b.nodes[n * nf + si]!);
  }
  console.log(`\nwhat holds the new ${focus} (B/conn, first retainer up to 4 levels):`);
  for (const [k, bytes] of [...paths].sort((x, y) => y[1] - x[1]).slice(0, 15)) {
    console.log(`${(bytes / N).toFixed(0).padStart(6)}  ${k}`);
  }
}
