/**
 * System under test 2: Socket.IO 4.8, websocket transport only, one room per conversation.
 * The client names its conversations in the connect auth (`40{"convs":[…]}`); a `msg` event
 * `{"c":"c1",…}` is re-emitted to the whole room, the sender included (`io.to(room)`, not
 * `socket.to(room)`): the sender's echo is its delivery, as Parley's `ack` is (issue #15).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { host, readConfig } from '../lib/server-host.js';

const config = readConfig();
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});

io.on('connection', (socket) => {
  const convs = (socket.handshake.auth as { convs?: string[] }).convs ?? [];
  socket.join(convs);
  socket.on('msg', (m: { c: string }) => {
    if (typeof m?.c === 'string' && socket.rooms.has(m.c)) io.to(m.c).emit('msg', m);
  });
});

await host(config, {
  http,
  connections: () => io.engine.clientsCount,
  close: async () => {
    io.disconnectSockets(true);
    await new Promise((r) => setTimeout(r, 200));
    io.close();
  },
});
