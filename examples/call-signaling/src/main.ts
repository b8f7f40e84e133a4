/**
 * `pnpm --filter @parley/example-call-signaling start`: starts the signalling hub and plays one call
 * between two in-process clients (alice calls bob), printing every typed event, then keeps the hub
 * running for your own clients (tokens: alice-token, bob-token, carol-token).
 */
import { createClient } from '@parley/client';
import { callEvents } from './events.js';
import { startSignalingServer } from './server.js';

const server = await startSignalingServer({ port: Number(process.env.PORT ?? 3002) });
console.log(`call-signaling hub on ${server.wsUrl}\n`);

const alice = createClient({ url: server.wsUrl, token: 'alice-token', events: callEvents });
const bob = createClient({ url: server.wsUrl, token: 'bob-token', events: callEvents });

const hungUp = new Promise<void>((resolve) => {
  bob.on('event', async (e) => {
    console.log(`bob   <- ${e.name} from ${e.from}`);
    if (e.name === 'call.offer') {
      // e.payload is typed: { callId, sdp, media }
      await bob.emit(
        'call.answer',
        { userId: e.from },
        { callId: e.payload.callId, sdp: 'v=0 answer…' },
      );
      await bob.emit(
        'call.ice',
        { userId: e.from },
        {
          callId: e.payload.callId,
          candidate: 'candidate:2 1 udp 2122260223 192.0.2.20 50000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      );
    }
    if (e.name === 'call.hangup') resolve();
  });
});

alice.on('event', async (e) => {
  console.log(`alice <- ${e.name} from ${e.from}`);
  if (e.name === 'call.answer') {
    for (const [i, ip] of ['192.0.2.10', '198.51.100.7'].entries()) {
      await alice.emit(
        'call.ice',
        { userId: 'bob' },
        {
          callId: e.payload.callId,
          candidate: `candidate:${i} 1 udp 2122260223 ${ip} 5400${i} typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      );
    }
    await alice.emit(
      'call.hangup',
      { userId: 'bob' },
      { callId: e.payload.callId, reason: 'ended' },
    );
  }
});

// Signals are ephemeral (not stored): call once both ends are connected.
const opened = (c: typeof alice) =>
  new Promise<void>((resolve) => {
    if (c.state === 'open') return resolve();
    const off = c.on('state', ({ to }) => {
      if (to !== 'open') return;
      off();
      resolve();
    });
  });
await Promise.all([opened(alice), opened(bob)]);
console.log('alice -> call.offer to bob');
await alice.emit(
  'call.offer',
  { userId: 'bob' },
  { callId: 'call-1', sdp: 'v=0 offer…', media: ['audio', 'video'] },
);

await hungUp;
alice.close();
bob.close();
console.log('\ncall finished; the hub keeps running (Ctrl+C to stop).');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
