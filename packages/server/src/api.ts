/**
 * The HTTP side of the server: `/healthz`, `/readyz` and the API for the app's backend under
 * `/v1`, authenticated with `Authorization: Bearer <api key>`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConversationId } from '@parley/protocol';
import {
  type Engine,
  type Hub,
  HubClosedError,
  HubUsageError,
  type Logger,
} from '@parley/server-adapter';
import type { Caller } from './callbacks.js';
import type { Membership } from './hooks.js';
import type { ServerMetrics } from './metrics.js';

/** Largest accepted API request body. */
export const MAX_BODY_BYTES = 1_048_576;

export interface ApiDeps {
  hub: Hub<Record<string, never>>;
  /**
   * What publishing to a conversation with no known members does: `create` it (the default), or
   * `reject` with 404 `not_found`. Members come from `membership.membersUrl` when configured (a
   * 404 from it means "no such conversation"), else from the members Parley recorded.
   */
  unknownConversations: 'create' | 'reject';
  engine: Engine;
  caller: Caller;
  membership: Membership;
  logger: Logger;
  apiKeys: readonly string[];
  /** `/metrics`: the exposition, and the Bearer keys a scraper must send (none: open). */
  metrics: { render: ServerMetrics['render']; keys: readonly string[] } | undefined;
  /** `starting` | `ready` | `draining`, for `/readyz`. */
  state: () => 'starting' | 'ready' | 'draining';
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'too_large', 'body over 1 MiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ApiError(400, 'invalid_body', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function authorized(req: IncomingMessage, keys: readonly string[]): boolean {
  const h = req.headers.authorization;
  if (h === undefined || !h.toLowerCase().startsWith('bearer ')) return false;
  const given = Buffer.from(h.slice(7).trim());
  let ok = false;
  for (const k of keys) {
    const key = Buffer.from(k);
    // Compare every key (no early exit), in constant time per key.
    if (key.length === given.length && timingSafeEqual(key, given)) ok = true;
  }
  return ok;
}

const str = (body: Record<string, unknown>, field: string, required = true): string | undefined => {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new ApiError(400, 'invalid_body', `"${field}" must be a non-empty string`);
  return v;
};

const userIdsOf = (body: Record<string, unknown>): string[] => {
  const v = body.userIds;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x !== ''))
    throw new ApiError(400, 'invalid_body', '"userIds" must be a non-empty array of strings');
  return v as string[];
};

/** Largest history page the API serves (the protocol's `history` limit). */
const MAX_HISTORY_PAGE = 200;

/** An optional integer query parameter within [min, max]; 400 `invalid_query` otherwise. */
function intParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new ApiError(400, 'invalid_query', `${name}: an integer from ${min} to ${max}`);
  return n;
}

/** With `unknownConversations: 'reject'`: 404 unless the conversation has members. */
async function requireKnown(conversationId: string, deps: ApiDeps): Promise<void> {
  if (deps.unknownConversations !== 'reject') return;
  const hook = deps.membership.hooks.membersOf;
  const members =
    hook === undefined ? await deps.engine.members(conversationId) : await hook(conversationId);
  if (members.length === 0)
    throw new ApiError(404, 'not_found', 'no such conversation (it has no members)');
}

/** Routes of the API: method, pattern, handler. */
type Handler = (
  params: string[],
  req: IncomingMessage,
  url: URL,
  deps: ApiDeps,
) => Promise<[number, unknown]>;

const routes: [string, RegExp, Handler][] = [
  [
    'POST',
    /^\/v1\/conversations\/([^/]+)\/messages$/,
    async ([conversationId], req, _url, deps) => {
      const body = await readJson(req);
      const text = body.text;
      if (typeof text !== 'string')
        throw new ApiError(400, 'invalid_body', '"text" must be a string');
      await requireKnown(conversationId!, deps);
      const { message, duplicate } = await deps.hub.publishResult(conversationId!, {
        text,
        ...(body.data === undefined ? {} : { data: body.data as never }),
        ...(body.senderId === undefined ? {} : { senderId: str(body, 'senderId')! }),
        ...(body.sender === undefined ? {} : { sender: body.sender as never }),
        ...(body.clientMsgId === undefined ? {} : { clientMsgId: str(body, 'clientMsgId')! }),
      });
      // A repeated clientMsgId stored nothing new: 200 with the original and `duplicate: true`.
      return [duplicate ? 200 : 201, { message, duplicate }];
    },
  ],
  [
    'GET',
    /^\/v1\/conversations\/([^/]+)\/messages$/,
    async ([conversationId], _req, url, { hub }) => {
      if (!ConversationId.safeParse(conversationId).success)
        throw new ApiError(400, 'invalid', 'the conversation id must be 1-128 characters');
      const before = intParam(url, 'before', 1, Number.MAX_SAFE_INTEGER);
      const after = intParam(url, 'after', 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(url, 'limit', 1, MAX_HISTORY_PAGE) ?? 50;
      const page = await hub.history(conversationId!, {
        limit,
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
      });
      return [200, { messages: page.messages, hasMore: page.hasMore }];
    },
  ],
  [
    'PUT',
    /^\/v1\/conversations\/([^/]+)\/meta$/,
    async ([conversationId], req, _url, { hub }) => {
      // Validated by the hub against the protocol's ConversationMeta (400 `invalid`).
      await hub.updateConversation(conversationId!, (await readJson(req)) as never);
      return [200, { ok: true }];
    },
  ],
  [
    'GET',
    /^\/v1\/users\/([^/]+)\/conversations$/,
    async ([userId], _req, _url, { hub }) => [
      200,
      { conversations: await hub.conversationSummary(userId!) },
    ],
  ],
  [
    'POST',
    /^\/v1\/conversations\/([^/]+)\/events$/,
    async ([conversationId], req, _url, { hub }) => {
      const body = await readJson(req);
      await hub.emit(conversationId!, {
        name: str(body, 'name')! as never,
        payload: (body.payload ?? null) as never,
      });
      return [202, { ok: true }];
    },
  ],
  [
    'POST',
    /^\/v1\/conversations\/([^/]+)\/(join|leave)$/,
    async ([conversationId, op], req, _url, { hub, membership }) => {
      const userIds = userIdsOf(await readJson(req));
      membership.invalidate(conversationId!, userIds);
      await (op === 'join'
        ? hub.join(conversationId!, userIds)
        : hub.leave(conversationId!, userIds));
      return [200, { ok: true }];
    },
  ],
  [
    'POST',
    /^\/v1\/users\/([^/]+)\/events$/,
    async ([userId], req, _url, { hub }) => {
      const body = await readJson(req);
      await hub.sendToUser(userId!, {
        name: str(body, 'name')! as never,
        payload: (body.payload ?? null) as never,
      });
      return [202, { ok: true }];
    },
  ],
  [
    'POST',
    /^\/v1\/users\/([^/]+)\/disconnect$/,
    async ([userId], req, _url, { hub }) => {
      const body = await readJson(req);
      const code = body.code;
      if (
        code !== undefined &&
        !(
          typeof code === 'number' &&
          Number.isInteger(code) &&
          (code === 1000 || (code >= 3000 && code <= 4999))
        )
      )
        throw new ApiError(400, 'invalid_body', '"code" must be 1000 or 3000-4999');
      await hub.disconnectUser(userId!, {
        ...(code === undefined ? {} : { code }),
        ...(body.reason === undefined ? {} : { reason: str(body, 'reason')! }),
      });
      return [200, { ok: true }];
    },
  ],
  [
    'GET',
    /^\/v1\/presence$/,
    async (_p, _req, url, { engine }) => {
      const userIds = (url.searchParams.get('userIds') ?? '').split(',').filter((u) => u !== '');
      if (userIds.length === 0 || userIds.length > 1000)
        throw new ApiError(400, 'invalid_query', 'userIds: 1-1000 comma-separated ids');
      const found = await engine.presence(userIds);
      return [
        200,
        {
          presence: userIds.map((userId) => {
            const p = found.get(userId);
            return {
              userId,
              online: p?.online ?? false,
              ...(p?.lastSeenAt === undefined ? {} : { lastSeenAt: p.lastSeenAt }),
            };
          }),
        },
      ];
    },
  ],
  [
    'GET',
    /^\/v1\/stats$/,
    async (_p, _req, _url, { hub, caller }) => [
      200,
      { hub: hub.stats(), callbacks: caller.stats() },
    ],
  ],
];

/** The request handler for the HTTP server(s). */
export function createApiHandler(
  deps: ApiDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err }, 'api request failed');
      if (!res.headersSent)
        send(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const state = deps.state();
      return send(res, state === 'ready' ? 200 : 503, { status: state });
    }
    if (req.method === 'GET' && path === '/metrics' && deps.metrics !== undefined) {
      const { render, keys } = deps.metrics;
      if (keys.length > 0 && !authorized(req, keys)) {
        res.setHeader('www-authenticate', 'Bearer');
        return send(res, 401, {
          error: { code: 'unauthorized', message: 'missing or wrong metrics key' },
        });
      }
      const { contentType, body } = await render();
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    if (!path.startsWith('/v1/'))
      return send(res, 404, { error: { code: 'not_found', message: 'no such route' } });
    if (deps.apiKeys.length === 0)
      return send(res, 503, {
        error: { code: 'api_disabled', message: 'set api.key to enable the API' },
      });
    if (!authorized(req, deps.apiKeys)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, {
        error: { code: 'unauthorized', message: 'missing or wrong API key' },
      });
    }
    let methodMismatch = false;
    for (const [method, pattern, handler] of routes) {
      const m = pattern.exec(path);
      if (m === null) continue;
      if (req.method !== method) {
        methodMismatch = true;
        continue;
      }
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        // A malformed %-escape is the caller's mistake, not a server error (issue 13).
        return send(res, 400, {
          error: { code: 'invalid_path', message: 'a path segment is not valid URL encoding' },
        });
      }
      try {
        const [status, body] = await handler(params, req, url, deps);
        return send(res, status, body);
      } catch (err) {
        if (err instanceof ApiError)
          return send(res, err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof HubUsageError)
          return send(res, 400, { error: { code: 'invalid', message: err.message } });
        if (err instanceof HubClosedError)
          return send(res, 503, {
            error: { code: 'unavailable', message: 'the server is shutting down' },
          });
        throw err;
      }
    }
    return methodMismatch
      ? send(res, 405, {
          error: { code: 'method_not_allowed', message: `${req.method} not allowed` },
        })
      : send(res, 404, { error: { code: 'not_found', message: 'no such route' } });
  }
}
