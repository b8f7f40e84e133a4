/**
 * The suite's standard world — users, conversations, tokens, custom events, a recording logger —
 * and the hub options built from it. Runtime-neutral (no vitest, no Node built-ins): the
 * in-process fixture (fixture.ts) and the Bun and Deno harnesses (test/runtimes/) build their
 * hubs from this one definition.
 */
import type { EventSchemas, StandardSchemaV1 } from '@parley/protocol';
import type { HubOptions } from '../../src/hub/options.js';
import type { Logger } from '../../src/logger.js';

/** A hand-written Standard Schema (the package has no schema library dependency). */
function objectSchema<T extends Record<string, string>>(
  fields: (keyof T & string)[],
): StandardSchemaV1<T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (v: unknown) => {
        if (typeof v !== 'object' || v === null)
          return { issues: [{ message: 'expected object' }] };
        for (const f of fields) {
          if (typeof (v as Record<string, unknown>)[f] !== 'string') {
            return { issues: [{ message: `${f} must be a string`, path: [f] }] };
          }
        }
        return { value: v as T };
      },
    },
  };
}

export const testEvents = {
  'call.offer': objectSchema<{ sdp: string }>(['sdp']),
  'call.hangup': objectSchema<{ reason: string }>(['reason']),
} satisfies EventSchemas;
export type TestEvents = typeof testEvents;

/** conversationId -> member ids. */
export type Members = Record<string, string[]>;

/** The conversations every test starts with. */
export function initialMembers(): Members {
  return {
    c1: ['alice', 'bob'],
    c2: ['alice', 'carol'],
    c3: ['carol', 'dave'],
  };
}

export interface RecordingLogger extends Logger {
  lines: { level: string; obj: object; msg?: string }[];
  /** The object of the first line whose message contains `msg`, once it is logged. */
  waitFor(msg: string): Promise<object>;
}

/** A logger that records everything, so tests can wait on log lines. */
export function recordingLogger(): RecordingLogger {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  let waiters: { msg: string; resolve: (o: object) => void }[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
    for (const w of waiters) if (msg?.includes(w.msg)) w.resolve(obj);
    waiters = waiters.filter((w) => !msg?.includes(w.msg));
  };
  return {
    lines,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    waitFor(msg) {
      const hit = lines.find((l) => l.msg?.includes(msg));
      if (hit) return Promise.resolve(hit.obj);
      return new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

/**
 * The world's hooks: tokens are `user` or `user@expiresAtMs` (`nobody` is refused), the cookie
 * `session` works too; `conversationsOf`/`membersOf` read `members()` at call time, so a test
 * that changes the membership changes what later connections get.
 */
export function worldHooks(
  members: () => Members,
): Pick<
  HubOptions<TestEvents>,
  'authenticate' | 'conversationsOf' | 'membersOf' | 'events' | 'conversationMeta'
> {
  return {
    authenticate: ({ token, request }) => {
      const t = token ?? request.cookies.session;
      if (t === undefined || t === 'nobody') return null;
      const [userId, exp] = t.split('@');
      return {
        userId: userId!,
        profile: { name: userId!.toUpperCase() },
        ...(exp === undefined ? {} : { expiresAt: Number(exp) }),
      };
    },
    conversationsOf: (userId) => {
      const m = members();
      return Object.keys(m).filter((c) => m[c]!.includes(userId));
    },
    membersOf: (c) => members()[c] ?? [],
    // The inbox's metadata (issue 16): a title per conversation and its members.
    conversationMeta: (ids) =>
      Object.fromEntries(
        ids.map((id) => [id, { title: `Title of ${id}`, members: [...(members()[id] ?? [])] }]),
      ),
    events: testEvents,
  };
}

/**
 * Hub options a test may set that are plain data, so they cross a process boundary: everything
 * the Bun and Deno harnesses accept. Hooks (functions) only work in-process.
 */
export type PortableOverrides = Pick<
  HubOptions<TestEvents>,
  | 'limits'
  | 'heartbeat'
  | 'backpressure'
  | 'presence'
  | 'typing'
  | 'auth'
  | 'shutdown'
  | 'systemUserId'
> & {
  origins?: readonly string[];
  /** History kept per conversation by the memory engine. */
  maxMessages?: number;
  /** Bun's `backpressureLimit` on the harness's `Bun.serve` (the Bun harness only). */
  bunBackpressureLimit?: number;
};

const PORTABLE = new Set([
  'limits',
  'heartbeat',
  'backpressure',
  'presence',
  'typing',
  'auth',
  'shutdown',
  'systemUserId',
  'origins',
  'maxMessages',
  'bunBackpressureLimit',
]);

/** The keys of `overrides` that cannot cross a process boundary (hooks, engines, …). */
export function nonPortableKeys(overrides: object): string[] {
  return Object.entries(overrides)
    .filter(
      ([k, v]) => v !== undefined && (!PORTABLE.has(k) || (k === 'origins' && !Array.isArray(v))),
    )
    .map(([k]) => k);
}
