/**
 * `startServer`: the hub on the configured engine, with the callback-backed hooks, the WebSocket
 * endpoint, the HTTP API, health endpoints and Prometheus metrics, and a graceful `close()`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHub, type Engine, type Hub, type HubStats } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { createApiHandler } from './api.js';
import { createAuthenticate } from './auth.js';
import { type Caller, createCaller } from './callbacks.js';
import { createClaimStore } from './claims.js';
import type { ServerConfig } from './config.js';
import { createEngine } from './engine.js';
import { createMembership, createStorageHooks, eventSchemas } from './hooks.js';
import { createJsonLogger, type JsonLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createOperationHooks } from './operations.js';

/** A running standalone server. */
export interface ParleyServer {
  /** Port of the WebSocket endpoint (and of the API unless `api.port` is set). */
  readonly port: number;
  /** Port of the HTTP API and health endpoints. */
  readonly apiPort: number;
  readonly hub: Hub<Record<string, never>>;
  readonly state: 'ready' | 'draining' | 'stopped';
  stats(): { hub: HubStats; callbacks: ReturnType<Caller['stats']> };
  /**
   * Graceful shutdown: `/readyz` turns 503, the hub tells every client to reconnect (`shutdown`
   * frame + close 1012), in-flight callbacks may finish (up to `shutdown.drainTimeoutMs`), then the
   * engine and the HTTP servers close. Idempotent.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  /** @default a JSON line logger on stdout at `config.logLevel` */
  logger?: JsonLogger;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Starts the server described by `config` (see `parseConfig` / `loadConfig`). */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<ParleyServer> {
  const logger =
    options.logger ??
    createJsonLogger({ level: config.logLevel, bindings: { name: 'parley-server' } });
  // The hub does not exist yet when the metrics are created: its totals are read at scrape time.
  let hubRef: Hub<Record<string, never>> | undefined;
  let callerRef: Caller | undefined;
  const metrics = config.metrics.enabled
    ? createMetrics({
        hubStats: () => hubRef!.stats(),
        callbackStats: () => callerRef!.stats(),
        processMetrics: config.metrics.process,
      })
    : undefined;
  const caller = createCaller(
    config.callbacks,
    logger.child({ part: 'callbacks' }),
    metrics === undefined ? {} : { onCall: metrics.onCallback },
  );
  callerRef = caller;
  const engine: Engine = await createEngine(config, logger.child({ part: 'engine' }));
  const claims = createClaimStore(engine);
  const membership = createMembership(config, claims, caller);
  const hub = createHub({
    authenticate: createAuthenticate(config, claims, caller, logger.child({ part: 'auth' })),
    ...membership.hooks,
    ...createStorageHooks(config, caller, logger),
    ...createOperationHooks(config, caller, logger),
    events: eventSchemas(config.events) as Record<string, never>,
    engine,
    logger: logger.child({ part: 'hub' }),
    systemUserId: config.systemUserId,
    ...(config.origins === undefined ? {} : { origins: config.origins }),
    limits: config.limits,
    heartbeat: config.heartbeat,
    presence: config.presence,
    shutdown: {
      retryJitterMs: config.shutdown.retryJitterMs,
      closeTimeoutMs: config.shutdown.closeTimeoutMs,
    },
    ...(metrics === undefined ? {} : { metrics: metrics.onHubEvent }),
  });
  hubRef = hub;

  let state: ParleyServer['state'] | 'starting' = 'starting';
  const keys = config.api.key === undefined ? [] : [config.api.key].flat();
  const handler = createApiHandler({
    hub,
    unknownConversations: config.api.unknownConversations,
    engine,
    caller,
    membership,
    logger: logger.child({ part: 'api' }),
    apiKeys: keys,
    metrics:
      metrics === undefined
        ? undefined
        : {
            render: metrics.render,
            keys: config.metrics.key === undefined ? [] : [config.metrics.key].flat(),
          },
    state: () => (state === 'ready' ? 'ready' : state === 'starting' ? 'starting' : 'draining'),
  });
  const wsServer = createServer(handler);
  attachHub(hub, wsServer, { path: config.path });
  const separateApi = config.api.port !== undefined;
  const apiServer = separateApi ? createServer(handler) : undefined;
  let port: number;
  let apiPort: number;
  try {
    port = await listen(wsServer, config.port, config.host);
    apiPort = apiServer
      ? await listen(apiServer, config.api.port!, config.api.host ?? config.host)
      : port;
  } catch (err) {
    await hub.close();
    await engine.close();
    wsServer.close();
    apiServer?.close();
    throw err;
  }
  state = 'ready';
  if (keys.length === 0) logger.warn({}, 'api.key is not set: the HTTP API is disabled');
  logger.info(
    {
      port,
      apiPort,
      host: config.host,
      path: config.path,
      engine: config.engine.type,
      auth: config.auth.mode,
      membership: config.membership.mode,
    },
    'listening',
  );

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    state = 'draining';
    logger.info({ sessions: hub.stats().sessions }, 'draining');
    await hub.close();
    // Sends that reached the app before the signal finish (or time out); unacked ones stay in
    // their clients' outboxes and are retried on the next process.
    await caller.drain(config.shutdown.drainTimeoutMs);
    await engine.close().catch((err: unknown) => logger.warn({ err }, 'engine close failed'));
    await Promise.all([
      closeServer(wsServer, 2000),
      apiServer === undefined ? undefined : closeServer(apiServer, 2000),
    ]);
    state = 'stopped';
    logger.info({}, 'stopped');
  }

  return {
    port,
    apiPort,
    hub,
    get state() {
      return state === 'starting' ? 'ready' : state;
    },
    stats: () => ({ hub: hub.stats(), callbacks: caller.stats() }),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
