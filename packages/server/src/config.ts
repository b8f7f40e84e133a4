/**
 * The standalone server's configuration: schema with defaults, and loading from a JSON file,
 * environment variables and command-line flags. Precedence, lowest first:
 * defaults < config file < environment variables < flags.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';

const url = z.string().url();
const strings = z.union([z.string(), z.array(z.string()).nonempty()]);

/** Shared settings of every HTTP callback to the app. */
const Callbacks = z
  .object({
    /** Sent as `Authorization: Bearer <secret>` on every callback, so the app can check the caller. */
    secret: z.string().min(1).optional(),
    /** Per-attempt timeout. */
    timeoutMs: z.number().int().positive().default(3000),
    /** Extra attempts for calls that are safe to retry (auth, membership, reads, persistence with its idempotency key). */
    retries: z.number().int().min(0).max(10).default(2),
    /** First retry delay; doubles per attempt, full jitter, capped by `maxBackoffMs`. */
    backoffMs: z.number().int().min(0).default(100),
    maxBackoffMs: z.number().int().min(0).default(2000),
  })
  .strict()
  .default({ timeoutMs: 3000, retries: 2, backoffMs: 100, maxBackoffMs: 2000 });

const Jwt = z
  .object({
    /** HS256 shared secret (at least 32 bytes). */
    secret: z.string().min(32, 'auth.jwt.secret must be at least 32 characters').optional(),
    /** A JWKS URL (RS256/ES256/EdDSA keys), fetched and cached by `jose`. */
    jwksUrl: url.optional(),
    issuer: strings.optional(),
    audience: strings.optional(),
    /** Accepted algorithms. Default: HS256 with `secret`, RS256/ES256/EdDSA… with `jwksUrl`. */
    algorithms: z.array(z.string()).nonempty().optional(),
    /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds. */
    clockToleranceSec: z.number().min(0).default(5),
    /** Claim holding the user id. */
    userIdClaim: z.string().default('sub'),
    /** Profile fields read from claims: profile field → claim name. */
    profileClaims: z.record(z.string(), z.string()).default({ name: 'name', avatarUrl: 'picture' }),
  })
  .strict()
  .refine((j) => (j.secret === undefined) !== (j.jwksUrl === undefined), {
    message: 'set exactly one of auth.jwt.secret and auth.jwt.jwksUrl',
  });

const AuthCallback = z
  .object({
    url,
    /** Request headers forwarded to the app (lower case). */
    headers: z.array(z.string()).default([]),
    /** Cookies forwarded to the app. */
    cookies: z.array(z.string()).default([]),
  })
  .strict();

const Auth = z
  .object({
    mode: z.enum(['jwt', 'callback']).default('jwt'),
    jwt: Jwt.optional(),
    callback: AuthCallback.optional(),
    /** Cookie carrying the token when `hello` has none (besides `Authorization: Bearer`). */
    cookie: z.string().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.mode === 'jwt' && a.jwt === undefined)
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: 'auth.mode "jwt" needs auth.jwt' });
    if (a.mode === 'callback' && a.callback === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['callback'],
        message: 'auth.mode "callback" needs auth.callback',
      });
  });

const Membership = z
  .object({
    /**
     * `claim`: the token's claim (JWT) or the auth callback's `conversations` field;
     * `callback`: ask the app.
     */
    mode: z.enum(['claim', 'callback']).default('claim'),
    claim: z.string().default('conversations'),
    /** POST `{ userId }` → `{ conversationIds: [...] }`. */
    conversationsUrl: url.optional(),
    /** POST `{ userId, conversationId }` → `{ member: boolean }`. Default: look in `conversationsUrl`'s answer. */
    isMemberUrl: url.optional(),
    /** POST `{ conversationId }` → `{ userIds: [...] }` (offline recipients, presence). Optional. */
    membersUrl: url.optional(),
    /** How long answers are cached; `hub.join`/`leave` through the API invalidate them. */
    cacheTtlMs: z.number().int().min(0).default(5000),
  })
  .strict()
  .refine((m) => m.mode !== 'callback' || m.conversationsUrl !== undefined, {
    message: 'membership.mode "callback" needs membership.conversationsUrl',
    path: ['conversationsUrl'],
  });

const Engine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }).strict(),
  z
    .object({
      type: z.literal('redis'),
      url: z.string().default('redis://127.0.0.1:6379'),
      keyPrefix: z.string().optional(),
    })
    .strict(),
]);

/** The full configuration. Every field has a default except the auth secret / URL. */
export const ServerConfigSchema = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** WebSocket path. */
    path: z.string().startsWith('/').default('/parley'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    engine: Engine.default({ type: 'memory' }),
    auth: Auth,
    membership: Membership.default({ mode: 'claim', claim: 'conversations', cacheTtlMs: 5000 }),
    /** POST `{ idempotencyKey, message }` → `{ id?, text?, data? }`, or 422 `{ reason }` to reject. */
    persistence: z.object({ url: url.optional() }).strict().default({}),
    /**
     * POST `{ idempotencyKey, operation, target }` for each edit, delete and reaction →
     * `{ id?, text?, data? }`, 403 `{ reason }` (forbidden) or 422 `{ reason }` (rejected).
     * `authorize`: `author` — only authors edit and delete (then the callback); `app` — the
     * callback alone decides who may change what.
     */
    operations: z
      .object({ url: url.optional(), authorize: z.enum(['author', 'app']).default('author') })
      .strict()
      .refine((o) => o.authorize === 'author' || o.url !== undefined, {
        message: "operations.authorize 'app' needs operations.url",
        path: ['authorize'],
      })
      .default({ authorize: 'author' }),
    /** POST `{ conversationId, userId, seq }` when a read position advances. */
    reads: z.object({ url: url.optional() }).strict().default({}),
    /** POST `{ conversationId, message, userIds }`: members with no live socket (push/email). */
    offline: z.object({ url: url.optional() }).strict().default({}),
    /** POST `{ message }` once a message is stored, with its seq (issue 16). */
    stored: z.object({ url: url.optional() }).strict().default({}),
    /** POST `{ userId, conversationIds }` → `{ conversations: { [id]: meta } }` for the inbox. */
    meta: z.object({ url: url.optional() }).strict().default({}),
    callbacks: Callbacks,
    api: z
      .object({
        /** Bearer key(s) of the HTTP API. Without one the API answers 503 `api_disabled`. */
        key: strings.optional(),
        /** Serve the API (and health) on a separate port, e.g. one not exposed publicly. */
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().optional(),
        /**
         * Publishing to a conversation with no known members: `create` it, or `reject` with 404
         * (members from `membership.membersUrl` when set, else the members Parley recorded).
         */
        unknownConversations: z.enum(['create', 'reject']).default('create'),
      })
      .strict()
      .default({ unknownConversations: 'create' }),
    /** Prometheus metrics on `/metrics` (served with the API and health endpoints). */
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** Bearer key(s) a scraper must send. Default: none, like `/healthz` (keep that port private). */
        key: strings.optional(),
        /** Also export Node's process metrics (CPU, memory, event loop lag, GC). */
        process: z.boolean().default(true),
      })
      .strict()
      .default({ enabled: true, process: true }),
    /** Custom event names clients and the API may send (payload: any JSON). `*` allows every name. */
    events: z.array(z.string()).default(['*']),
    /** Allowed browser origins (exact). Default: all. */
    origins: z.array(z.string()).optional(),
    systemUserId: z.string().default('system'),
    limits: z
      .object({
        maxFrameBytes: z.number().int().positive().optional(),
        helloTimeoutMs: z.number().int().positive().optional(),
        sessionStartTimeoutMs: z.number().int().positive().optional(),
        maxConversationsPerUser: z.number().int().positive().optional(),
        maxSocketsPerUser: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    heartbeat: z
      .object({
        intervalMs: z.number().int().positive().optional(),
        timeoutMs: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    presence: z
      .object({ graceMs: z.number().int().min(0).optional() })
      .strict()
      .default({}),
    shutdown: z
      .object({
        /** Upper bound of the jittered reconnect hint sent to clients. */
        retryJitterMs: z.number().int().min(0).default(5000),
        /** Sockets not closed by then are terminated. */
        closeTimeoutMs: z.number().int().min(0).default(3000),
        /** How long in-flight callbacks (persistence) may finish after the sockets closed. */
        drainTimeoutMs: z.number().int().min(0).default(10_000),
      })
      .strict()
      .default({ retryJitterMs: 5000, closeTimeoutMs: 3000, drainTimeoutMs: 10_000 }),
  })
  .strict();

/** The configuration as written (defaults optional). */
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
/** The configuration with every default applied. */
export type ServerConfig = z.output<typeof ServerConfigSchema>;

/** The configuration is invalid; `message` lists every problem with its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config';
}

/** Validates and applies defaults; throws {@link ConfigError} naming each bad field. */
export function parseConfig(input: unknown): ServerConfig {
  if (typeof input === 'object' && input !== null && (input as Json).auth === undefined) {
    throw new ConfigError(
      'invalid configuration:\n  auth: required — set auth.jwt.secret (HS256), auth.jwt.jwksUrl, or auth.mode "callback" with auth.callback.url',
    );
  }
  const result = ServerConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

type Json = Record<string, unknown>;

/** Sets `obj[a][b][c] = value` for the dotted path `a.b.c`, creating objects on the way. */
export function setPath(obj: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** A flag or env value: JSON when it parses as JSON (numbers, booleans, arrays), else the string. */
function coerce(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Environment variables and the config path each maps to. */
export const ENV_VARS: Readonly<Record<string, string>> = {
  PARLEY_HOST: 'host',
  PARLEY_PORT: 'port',
  PARLEY_PATH: 'path',
  PARLEY_LOG_LEVEL: 'logLevel',
  PARLEY_API_KEY: 'api.key',
  PARLEY_API_PORT: 'api.port',
  PARLEY_AUTH_MODE: 'auth.mode',
  PARLEY_JWT_SECRET: 'auth.jwt.secret',
  PARLEY_JWKS_URL: 'auth.jwt.jwksUrl',
  PARLEY_JWT_ISSUER: 'auth.jwt.issuer',
  PARLEY_JWT_AUDIENCE: 'auth.jwt.audience',
  PARLEY_AUTH_CALLBACK_URL: 'auth.callback.url',
  PARLEY_CALLBACK_SECRET: 'callbacks.secret',
  PARLEY_REDIS_URL: 'engine.url',
};

/** Command-line flags (`--name value` or `--name=value`) and the config path each maps to. */
export const FLAGS: Readonly<Record<string, string>> = {
  host: 'host',
  port: 'port',
  path: 'path',
  'log-level': 'logLevel',
  'api-key': 'api.key',
  'api-port': 'api.port',
  'auth-mode': 'auth.mode',
  'jwt-secret': 'auth.jwt.secret',
  'jwks-url': 'auth.jwt.jwksUrl',
  'jwt-issuer': 'auth.jwt.issuer',
  'jwt-audience': 'auth.jwt.audience',
  'auth-callback-url': 'auth.callback.url',
  'callback-secret': 'callbacks.secret',
  'redis-url': 'engine.url',
  engine: 'engine.type',
};

/** Strings that must stay strings even when they look like JSON (a numeric secret, say). */
const STRING_PATHS = new Set([
  'auth.jwt.secret',
  'api.key',
  'metrics.key',
  'callbacks.secret',
  'host',
  'path',
]);

function apply(target: Json, path: string, raw: string): void {
  setPath(target, path, STRING_PATHS.has(path) ? raw : coerce(raw));
  // A Redis URL alone selects the Redis engine.
  if (path === 'engine.url') setPath(target, 'engine.type', 'redis');
}

/** Parsed command line of `parley-server start`. */
export interface CliArgs {
  config?: string;
  /** Flag overrides as [path, raw value] in order; `--set a.b=value` included. */
  overrides: [string, string][];
  help: boolean;
}

/** Parses `start` flags. Throws {@link ConfigError} for an unknown flag. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { overrides: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(`flag --${name} needs a value`);
    }
    if (name === 'config' || name === 'c') out.config = value;
    else if (name === 'set') {
      const at = value.indexOf('=');
      if (at < 1)
        throw new ConfigError('--set needs path=value, e.g. --set membership.cacheTtlMs=1000');
      out.overrides.push([value.slice(0, at), value.slice(at + 1)]);
    } else if (FLAGS[name] !== undefined) out.overrides.push([FLAGS[name], value]);
    else throw new ConfigError(`unknown flag --${name} (see parley-server start --help)`);
  }
  return out;
}

/**
 * Loads the configuration: defaults < file (`--config` or `PARLEY_CONFIG`) < environment <
 * flags. Throws {@link ConfigError}.
 */
export function loadConfig(
  args: CliArgs,
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ServerConfig {
  let raw: Json = {};
  const file = args.config ?? env.PARLEY_CONFIG;
  if (file !== undefined) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text) as Json;
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  for (const [name, path] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(raw, path, v);
  }
  for (const [path, v] of args.overrides) apply(raw, path, v);
  // `auth.jwt.*` given without a mode: JWT is the default mode anyway.
  return parseConfig(raw);
}
