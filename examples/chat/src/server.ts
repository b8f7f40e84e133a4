/**
 * The demo chat server: the Parley hub (in-memory engine) on a node:http server that also serves
 * the single-page app, a tiny REST API (sign-in, users, conversations) and image uploads for
 * attachments (uploads.ts). `startChatServer` is
 * used by the CLI (`pnpm demo`) and by the tests, which restart it on the same port.
 */
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ConversationMeta } from '@parley/protocol';
import {
  createHub,
  createMemoryEngine,
  type Engine,
  type Hub,
  type HubOptions,
  type Logger,
} from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { build } from 'esbuild';
import { createDirectory, type DemoConversation, type Directory, seed } from './directory.js';
import { randomSecret, signToken, verifyToken } from './token.js';
import {
  createUploadStore,
  receiveUpload,
  serveUpload,
  UploadError,
  type UploadStore,
  uploadKeyOf,
} from './uploads.js';

export interface ChatServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** HMAC secret of session tokens. @default a random one per call */
  secret?: string;
  /**
   * Storage of messages, reads and members. Pass the same engine to a restarted server to keep
   * history (the hub does not close an engine it did not create). @default a new memory engine
   */
  engine?: Engine;
  /** Users and conversations; pass the same one to a restarted server. @default the demo's */
  directory?: Directory;
  /** Uploaded images; pass the same one to a restarted server. @default a new memory store */
  uploads?: UploadStore;
  /** Session token lifetime. @default 12 h */
  tokenTtlMs?: number;
  /** Extra hub options (limits, heartbeat, shutdown...). */
  hub?: Partial<HubOptions>;
  logger?: Logger;
}

export interface ChatServer {
  /** `http://host:port` */
  url: string;
  port: number;
  hub: Hub;
  engine: Engine;
  directory: Directory;
  uploads: UploadStore;
  /** Issues a session token (tests). */
  tokenFor(userId: string): string;
  /** Graceful: clients get `shutdown` + 1012 and reconnect by themselves. */
  close(): Promise<void>;
}

/** Messages replayed at connect before the client is told to page (`reset`) instead. */
const DEMO_MAX_REPLAY = 25;

const webDir = fileURLToPath(new URL('./web/', import.meta.url));
let bundle: Promise<string> | undefined;

/** Bundles the page's script once per process (esbuild, browser platform, TS sources). */
function appBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [`${webDir}app.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@parley/source'],
    minify: true,
    sourcemap: 'inline',
    legalComments: 'none',
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]!.text);
  bundle.catch(() => {
    bundle = undefined;
  });
  return bundle;
}

function publicConversation(c: DemoConversation) {
  return { id: c.id, kind: c.kind, title: c.title, members: c.members };
}

/**
 * A conversation's metadata for the hub's inbox: its title as `userId` sees it (a DM is titled
 * by the other member), its members, and its kind in `data`.
 */
export function metaOf(
  directory: Directory,
  conversationId: string,
  userId?: string,
): ConversationMeta | undefined {
  const c = directory.conversation(conversationId);
  if (!c) return undefined;
  const peer = c.kind === 'dm' ? c.members.find((m) => m !== userId) : undefined;
  const title = c.kind === 'dm' ? userId && peer && directory.user(peer)?.name : c.title;
  return { ...(title ? { title } : {}), members: [...c.members], data: { kind: c.kind } };
}

export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const secret = options.secret ?? randomSecret();
  const engine = options.engine ?? createMemoryEngine();
  const directory = options.directory ?? createDirectory();
  const uploads = options.uploads ?? createUploadStore();
  const tokenTtlMs = options.tokenTtlMs ?? 12 * 3_600_000;
  await seed(engine, directory);
  const [js, html, css] = await Promise.all([
    appBundle(),
    readFile(`${webDir}index.html`, 'utf8'),
    readFile(`${webDir}styles.css`, 'utf8'),
  ]);

  const page = (type: string, text: string) => ({ type, body: Buffer.from(text, 'utf8') });
  const assets = new Map([
    ['/', page('text/html; charset=utf-8', html)],
    ['/index.html', page('text/html; charset=utf-8', html)],
    ['/app.js', page('text/javascript; charset=utf-8', js)],
    ['/styles.css', page('text/css; charset=utf-8', css)],
  ]);

  const hub = createHub({
    limits: { maxReplay: DEMO_MAX_REPLAY },
    ...options.hub,
    engine,
    ...(options.logger ? { logger: options.logger } : {}),
    authenticate: ({ token }) => {
      const claims = verifyToken(secret, token);
      const user = claims && directory.user(claims.sub);
      if (!claims || !user) return null; // 4401: the page signs in again
      return { userId: user.id, profile: { name: user.name }, expiresAt: claims.exp };
    },
    conversationsOf: (userId) => directory.conversationsOf(userId).map((c) => c.id),
    membersOf: (conversationId) => directory.membersOf(conversationId),
    // Titles and members ride in the inbox the hub sends after `welcome` (and in `conversation`
    // frames on change), so the page renders its inbox from the socket alone.
    conversationMeta: (ids, { userId }) =>
      Object.fromEntries(ids.map((id) => [id, metaOf(directory, id, userId)])),
    // Browsers may only connect from the page this server serves.
    origins: (origin, request) => {
      if (origin === undefined) return true; // non-browser clients
      const host = request.headers.host;
      try {
        return typeof host === 'string' && new URL(origin).host === host;
      } catch {
        return false;
      }
    },
  });

  const tokenFor = (userId: string) =>
    signToken(secret, { sub: userId, exp: Date.now() + tokenTtlMs });

  const userOf = (req: IncomingMessage) => {
    const auth = req.headers.authorization;
    const claims = verifyToken(secret, auth?.startsWith('Bearer ') ? auth.slice(7) : undefined);
    return claims && directory.user(claims.sub);
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 16_384) throw new Error('body too large');
      chunks.push(chunk as Buffer);
    }
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  };

  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const method = req.method ?? 'GET';
    // The page and its assets. HEAD answers like GET without a body (Node drops the body of a
    // HEAD response; the headers, content-length included, are the same).
    const asset = method === 'GET' || method === 'HEAD' ? assets.get(path) : undefined;
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.byteLength,
        'cache-control': 'no-store',
      });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    const uploadKey = method === 'GET' || method === 'HEAD' ? uploadKeyOf(path) : undefined;
    if (uploadKey) return serveUpload(res, uploads, uploadKey, method === 'HEAD');
    if (method === 'GET' && path === '/api/users') {
      json(res, 200, directory.users);
      return;
    }
    if (method === 'POST' && path === '/api/session') {
      // Demo sign-in: pick a seeded user. A real app checks a password / SSO here.
      const body = await readJson(req);
      const user = directory.user(String(body.userId ?? ''));
      if (!user) return json(res, 404, { error: 'unknown user' });
      return json(res, 200, { token: tokenFor(user.id), user });
    }
    const me = userOf(req);
    if (path.startsWith('/api/') && !me) return json(res, 401, { error: 'unauthenticated' });
    if (method === 'GET' && path === '/api/me') return json(res, 200, { user: me });
    if (method === 'GET' && path === '/api/conversations') {
      return json(res, 200, directory.conversationsOf(me!.id).map(publicConversation));
    }
    if (method === 'POST' && path === '/api/uploads') {
      // An image for a message (see uploads.ts): the page sends it with `data: { attachment }`.
      try {
        return json(res, 201, await receiveUpload(req, me!.id, uploads));
      } catch (err) {
        if (err instanceof UploadError) return json(res, err.status, { error: err.message });
        throw err;
      }
    }
    if (method === 'POST' && path === '/api/conversations') {
      // "New conversation": a DM with the picked user, live for both without reconnecting.
      const body = await readJson(req);
      const other = directory.user(String(body.userId ?? ''));
      if (!other || other.id === me!.id) return json(res, 400, { error: 'pick another user' });
      const { conversation, created } = directory.directConversation(me!.id, other.id);
      if (created) {
        await hub.join(conversation.id, conversation.members);
        // `joined` carries no metadata: push it (no title: each side titles a DM by the other).
        await hub.updateConversation(conversation.id, metaOf(directory, conversation.id)!);
      }
      return json(res, created ? 201 : 200, publicConversation(conversation));
    }
    json(res, 404, { error: 'not found' });
  };

  const server = http.createServer((req, res) => {
    routes(req, res).catch((err: unknown) => {
      options.logger?.error({ err }, 'chat: request failed');
      if (!res.headersSent) json(res, 400, { error: 'bad request' });
      else res.end();
    });
  });
  attachHub(hub, server, { path: '/parley' });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    hub,
    engine,
    directory,
    uploads,
    tokenFor,
    close() {
      closing ??= (async () => {
        await hub.close(); // shutdown frame + 1012 to every socket; the engine stays open
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
