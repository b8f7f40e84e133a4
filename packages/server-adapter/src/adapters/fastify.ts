/**
 * The Fastify adapter: a plugin that registers `@fastify/websocket` (unless the app already did)
 * and a WebSocket route for the hub. Upgrades refused by the hub (origin, closing) are answered
 * by a `preValidation` hook with HTTP 403/503 before any WebSocket exists.
 *
 * ```ts
 * await app.register(parleyFastify, { hub, path: '/parley' });
 * ```
 */
import websocket from '@fastify/websocket';
import type { EventSchemas } from '@parley/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Hub } from '../hub/hub.js';
import { bindWebSocket, nodeRequestInfo, selectProtocol } from './shared/ws.js';

/** Options of {@link parleyFastify}. */
export interface ParleyFastifyOptions<E extends EventSchemas = EventSchemas> {
  hub: Hub<E>;
  /** Route path. @default '/parley' */
  path?: string;
  /** Close the hub when Fastify closes. @default true */
  closeHubOnClose?: boolean;
}

const infoKey = Symbol('parley.request');
type WithInfo = FastifyRequest & { [infoKey]?: ReturnType<typeof nodeRequestInfo> };

/** The Fastify plugin. */
export async function parleyFastify<E extends EventSchemas>(
  fastify: FastifyInstance,
  options: ParleyFastifyOptions<E>,
): Promise<void> {
  const { hub } = options;
  const path = options.path ?? '/parley';
  if (!fastify.hasDecorator('websocketServer')) {
    await fastify.register(websocket, {
      options: { maxPayload: hub.maxFrameBytes, handleProtocols: selectProtocol },
      // The hub closes its own sockets (1012 + shutdown frame) on close.
      preClose: () => undefined,
    });
  }
  fastify.route({
    method: 'GET',
    url: path,
    preValidation: async (request: WithInfo, reply) => {
      const info = nodeRequestInfo(request.raw);
      const rejection = hub.admit(info);
      if (rejection !== null) return reply.code(rejection.status).send(rejection.reason);
      request[infoKey] = info;
    },
    handler: (_request, reply) => reply.code(426).send('upgrade required'),
    wsHandler: (socket, request: WithInfo) => {
      bindWebSocket(hub, socket, request[infoKey] ?? nodeRequestInfo(request.raw));
    },
  });
  if (options.closeHubOnClose !== false) fastify.addHook('preClose', async () => hub.close());
}
