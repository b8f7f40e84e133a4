/**
 * The systems under test: one entry per row of the tables. This registry is the extension point
 * for new rows (issue #15 leaves room for two): everything else — process start, pinning, CPU
 * accounting (server + backing processes), tables, ratios, targets — reads it.
 *
 * Adding a row (the hub on Bun, `parley-bun`, was added this way: a runtime `bun` in `RUNTIMES`,
 * lib/procs.ts, and servers/parley-bun.ts):
 * - The Redis engine on a 3-primary Redis Cluster (`parley-redis-cluster`) was added this way
 *   too: a backing `redis-cluster` in `BACKINGS` (lib/backing.ts) and its entry below.
 * A target comparing a new row with an existing one is one entry in `lib/targets.ts`.
 */
import type { SystemKind } from './loadgen.js';

/** How a server file is started (see `RUNTIMES` in lib/procs.ts). */
export type RuntimeId = 'node' | 'bun';
/** A store the bench starts for the run (see `BACKINGS` in lib/backing.ts). */
export type BackingId = 'redis' | 'redis-cluster';
/** The table a row belongs to. */
export type GroupId = 'memory' | 'redis' | 'gc';

export interface SystemDef {
  id: string;
  label: string;
  /** Wire format the load generator speaks to it. */
  wire: SystemKind;
  /** Server entry, relative to bench/. */
  file: string;
  runtime: RuntimeId;
  /** Extra environment of the server process. */
  env?: Record<string, string>;
  /** Extra Node flags of the server process (node runtime only). */
  nodeArgs?: readonly string[];
  /** The scenarios this row runs in (default: all). */
  scenarios?: readonly string[];
  /**
   * A store process started fresh for every run (on a free port, pinned with the server); its URL
   * reaches the server as `BENCH_CONFIG.backingUrl`, and its CPU is reported next to the server's.
   */
  backing?: BackingId;
  group: GroupId;
  /** Which preset sets its number of runs (`--runs` or `--redis-runs`). */
  runs: 'runs' | 'redisRuns';
  /** Part of a run without `--systems`. */
  default: boolean;
}

export const SYSTEMS: readonly SystemDef[] = [
  {
    id: 'ws',
    label: 'raw ws relay',
    wire: 'ws',
    file: 'servers/ws-relay.ts',
    runtime: 'node',
    group: 'memory',
    runs: 'runs',
    default: true,
  },
  {
    id: 'socketio',
    label: 'Socket.IO 4.8',
    wire: 'socketio',
    file: 'servers/socketio.ts',
    runtime: 'node',
    group: 'memory',
    runs: 'runs',
    default: true,
  },
  {
    id: 'parley',
    label: 'Parley (memory)',
    wire: 'parley',
    file: 'servers/parley.ts',
    runtime: 'node',
    group: 'memory',
    runs: 'runs',
    default: true,
  },
  {
    // The same hub and workload on Bun, through the Bun adapter (Bun.serve), memory engine.
    id: 'parley-bun',
    label: 'Parley on Bun (memory)',
    wire: 'parley',
    file: 'servers/parley-bun.ts',
    runtime: 'bun',
    group: 'memory',
    runs: 'runs',
    default: true,
  },
  {
    id: 'parley-redis',
    label: 'Parley (Redis)',
    wire: 'parley',
    file: 'servers/parley.ts',
    runtime: 'node',
    env: { BENCH_ENGINE: 'redis' },
    backing: 'redis',
    group: 'redis',
    runs: 'redisRuns',
    default: true,
  },
  {
    // The same hub on a Redis Cluster of 3 primaries (no replicas), sharded pub/sub. The CPU of
    // the three redis-servers is summed; `spublish@<node>` in the Redis command table shows how
    // the messages spread over the shards.
    id: 'parley-redis-cluster',
    label: 'Parley (Redis Cluster, 3 primaries)',
    wire: 'parley',
    file: 'servers/parley.ts',
    runtime: 'node',
    env: { BENCH_ENGINE: 'redis-cluster' },
    backing: 'redis-cluster',
    group: 'redis',
    runs: 'redisRuns',
    default: true,
  },
  // The fixed rate again, every Node server with V8's GC on one thread. Each server is pinned to
  // one core, where V8's background GC threads (concurrent marking above all) take that core from
  // the event loop: this shows how much of a p99 is that (bench/NOTES.md). Not judged.
  ...(
    [
      ['ws', 'raw ws relay', 'servers/ws-relay.ts', 'ws'],
      ['socketio', 'Socket.IO 4.8', 'servers/socketio.ts', 'socketio'],
      ['parley', 'Parley (memory)', 'servers/parley.ts', 'parley'],
    ] as const
  ).map(
    ([id, label, file, wire]): SystemDef => ({
      id: `${id}-stgc`,
      label: `${label}, --single-threaded-gc`,
      wire,
      file,
      runtime: 'node',
      nodeArgs: ['--single-threaded-gc'],
      scenarios: ['fixed'],
      group: 'gc',
      runs: 'runs',
      default: true,
    }),
  ),
];

export const GROUPS: readonly { id: GroupId; title: string }[] = [
  { id: 'memory', title: 'In-memory: raw ws relay, Socket.IO, Parley (Node and Bun)' },
  { id: 'redis', title: 'Parley with the Redis engine (hub + its own redis-server)' },
  {
    id: 'gc',
    title:
      'The fixed rate with `--single-threaded-gc` (each server confined to one core; not judged)',
  },
];

/** Whether a row runs in a scenario. */
export const runsIn = (id: string, scenario: string): boolean =>
  systemDef(id).scenarios?.includes(scenario) ?? true;

export function systemDef(id: string): SystemDef {
  const d = SYSTEMS.find((s) => s.id === id);
  if (!d) throw new Error(`unknown system ${id} (known: ${SYSTEMS.map((s) => s.id).join(', ')})`);
  return d;
}

export const labelOf = (id: string): string => SYSTEMS.find((s) => s.id === id)?.label ?? id;
