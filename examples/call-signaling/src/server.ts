/**
 * A hub whose custom events are the call-signalling events. Messages, typing, reads and the call's
 * offer/answer/ICE all travel over the user's one Parley connection; events addressed to a user
 * reach every socket of that user (all their tabs/devices), and only users who share a
 * conversation may signal each other.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHub, type Hub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { type CallEvents, callEvents } from './events.js';

const conversations: Record<string, string[]> = {
  'dm-alice-bob': ['alice', 'bob'],
  team: ['alice', 'bob', 'carol'],
};
/** Demo tokens; a real app verifies its own sessions here. */
const tokens = new Map([
  ['alice-token', 'alice'],
  ['bob-token', 'bob'],
  ['carol-token', 'carol'],
]);

export interface SignalingServer {
  url: string;
  /** `ws://…/parley` */
  wsUrl: string;
  hub: Hub<CallEvents>;
  close(): Promise<void>;
}

export async function startSignalingServer(
  options: { port?: number; host?: string } = {},
): Promise<SignalingServer> {
  const hub = createHub({
    events: callEvents,
    authenticate: ({ token }) => {
      const userId = token === undefined ? undefined : tokens.get(token);
      return userId === undefined ? null : { userId, profile: { name: userId } };
    },
    conversationsOf: (userId) =>
      Object.keys(conversations).filter((c) => conversations[c]!.includes(userId)),
    membersOf: (c) => conversations[c] ?? [],
  });
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  attachHub(hub, server, { path: '/parley' });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/parley`,
    hub,
    async close() {
      await hub.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
