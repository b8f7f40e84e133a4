/**
 * Per-test fixture for the hub suite: a "world" of users and conversations, a server started
 * through the adapter under test with the engine under test, and clients that are all cleaned up.
 */
import type { EventSchemas, StandardSchemaV1 } from '@parley/protocol';
import { afterEach } from 'vitest';
import type { Engine } from '../../src/engines/types.js';
import type { HubOptions } from '../../src/hub/options.js';
import type { Logger } from '../../src/logger.js';
import { type ConnectOptions, TestClient } from './client.js';
import type { StartServer, TServer } from './servers.js';

/** Options an engine factory must honour in the suite. */
export interface EngineTestOptions {
  /** History kept per conversation. */
  maxMessages?: number;
}
export type EngineFactory = (options: EngineTestOptions) => Engine | Promise<Engine>;

export interface SuiteEnv {
  start: StartServer;
  engine: EngineFactory;
}

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

/** A logger that records everything, so tests can wait on log lines. */
export function recordingLogger(): Logger & {
  lines: { level: string; obj: object; msg?: string }[];
  waitFor(msg: string): Promise<object>;
} {
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

export interface Fixture {
  server: TServer<TestEvents>;
  engine: Engine;
  /** conversationId -> member ids; mutate to change `conversationsOf` for later connections. */
  members: Record<string, string[]>;
  connect(userId: string, options?: ConnectOptions): Promise<TestClient>;
  logger: ReturnType<typeof recordingLogger>;
}

export type SetupOverrides = Partial<HubOptions<TestEvents>> & {
  maxMessages?: number;
  /** Wraps the engine under test (to interleave work with the hub's calls). */
  wrapEngine?: (engine: Engine) => Engine;
};

/**
 * Returns `setup(overrides)` for the current describe block; everything it creates is disposed
 * of after each test. Tokens are `user` or `user@expiresAtMs`; the cookie `session` works too.
 */
export function useFixture(env: SuiteEnv): (overrides?: SetupOverrides) => Promise<Fixture> {
  const disposers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const d of disposers.splice(0).reverse()) await d();
  });
  return async (overrides = {}) => {
    const members: Record<string, string[]> = {
      c1: ['alice', 'bob'],
      c2: ['alice', 'carol'],
      c3: ['carol', 'dave'],
    };
    const { maxMessages, wrapEngine, ...hubOverrides } = overrides;
    const inner = await env.engine({ ...(maxMessages === undefined ? {} : { maxMessages }) });
    const engine = wrapEngine ? wrapEngine(inner) : inner;
    const logger = recordingLogger();
    const server = await env.start<TestEvents>({
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
      conversationsOf: (userId) => Object.keys(members).filter((c) => members[c]!.includes(userId)),
      membersOf: (c) => members[c] ?? [],
      events: testEvents,
      engine,
      logger,
      ...hubOverrides,
    });
    const clients: TestClient[] = [];
    disposers.push(async () => {
      for (const c of clients) c.terminate();
      await server.dispose();
      await engine.close();
    });
    return {
      server,
      engine,
      members,
      logger,
      async connect(userId, options = {}) {
        const c = await TestClient.connect(server.url, { token: userId, ...options });
        clients.push(c);
        return c;
      },
    };
  };
}
