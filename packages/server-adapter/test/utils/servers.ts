/**
 * The in-process adapter matrix (like graphql-ws's tServers): each entry starts a real server on
 * 127.0.0.1:0 with the hub attached at `/parley` next to a plain HTTP route, and disposes of all.
 * The Bun and Deno adapters run the same suites under their own runtimes (test/runtimes/).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventSchemas } from '@parley/protocol';
import { plugin as crossws } from 'crossws/server';
import express from 'express';
import Fastify from 'fastify';
import { defineWebSocketHandler, H3, serve } from 'h3';
import { parleyHooks } from '../../src/adapters/crossws.js';
import { parleyFastify } from '../../src/adapters/fastify.js';
import { attachHub } from '../../src/adapters/node.js';
import { createHub, type Hub } from '../../src/hub/hub.js';
import type { HubOptions } from '../../src/hub/options.js';

export interface TServer<E extends EventSchemas = EventSchemas> {
  url: string;
  /** Base HTTP URL (for REST routes). */
  http: string;
  hub: Hub<E>;
  /** Closes the hub and the HTTP server; resolves when nothing is left listening. */
  dispose(): Promise<void>;
  /** Resolves once the HTTP server stopped listening and all its connections ended. */
  serverClosed(): Promise<void>;
}

export type StartServer = <E extends EventSchemas>(options: HubOptions<E>) => Promise<TServer<E>>;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** node:http and everything built on it (Express, Koa, …) differ only in the request handler. */
async function startOnHttp(
  options: Parameters<StartServer>[0],
  handler: http.RequestListener,
): ReturnType<StartServer> {
  const hub = createHub(options);
  const server = http.createServer(handler);
  attachHub(hub, server, { path: '/parley' });
  const port = await listen(server);
  return {
    url: `ws://127.0.0.1:${port}/parley`,
    http: `http://127.0.0.1:${port}`,
    hub,
    dispose: async () => {
      await hub.close();
      await closeServer(server);
    },
    serverClosed: () => closeServer(server),
  };
}

const startNode: StartServer = (options) => startOnHttp(options, (_req, res) => res.end('ok'));

const startExpress: StartServer = (options) => {
  const app = express();
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  return startOnHttp(options, app);
};

const startFastify: StartServer = async (options) => {
  const hub = createHub(options);
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get('/health', async () => ({ ok: true }));
  await app.register(parleyFastify, { hub, path: '/parley' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= app.close().then(() => undefined);
    return closing;
  };
  return {
    url: `ws://127.0.0.1:${port}/parley`,
    http: `http://127.0.0.1:${port}`,
    hub,
    dispose: async () => {
      await hub.close();
      await close();
    },
    serverClosed: close,
  };
};

/** h3 v2 with crossws's srvx plugin: `defineWebSocketHandler(parleyHooks(hub))` on a route. */
const startH3: StartServer = async (options) => {
  const hub = createHub(options);
  const app = new H3();
  app.get('/health', () => ({ ok: true }));
  app.get('/parley', defineWebSocketHandler(parleyHooks(hub)));
  const server = serve(app, {
    port: 0,
    hostname: '127.0.0.1',
    silent: true,
    // crossws's Node adapter is `ws`: oversize frames are refused with 1009 before buffering.
    plugins: [crossws({ options: { node: { serverOptions: { maxPayload: hub.maxFrameBytes } } } })],
  });
  await server.ready();
  const port = Number(new URL(server.url!).port);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= server.close(true);
    return closing;
  };
  return {
    url: `ws://127.0.0.1:${port}/parley`,
    http: `http://127.0.0.1:${port}`,
    hub,
    dispose: async () => {
      await hub.close();
      await close();
    },
    serverClosed: close,
  };
};

/** Every adapter the hub suite runs over in this process. */
export const tServers: { name: string; start: StartServer }[] = [
  { name: 'node:http', start: startNode },
  { name: 'express', start: startExpress },
  { name: 'fastify', start: startFastify },
  { name: 'h3 (crossws)', start: startH3 },
];
