// @vitest-environment happy-dom
import { defineEvents } from '@parley/client';
import { createTestHub } from '@parley/testing';
import { cleanup, render, screen } from '@testing-library/react';
import { setupServer } from 'msw/node';
import { StrictMode, useState } from 'react';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { ParleyProvider, useParleyEvent } from '../src/index.js';

const events = defineEvents({
  'call.offer': z.object({ sdp: z.string() }),
  'call.hangup': z.object({ reason: z.string() }),
});

const kit = createTestHub({ events, conversations: { c1: ['alice', 'bob'] } });
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(async () => {
  cleanup();
  await kit.reset();
});
afterAll(() => server.close());

function Calls() {
  const [log, setLog] = useState<string[]>([]);
  // Typed through the explicit event map (or once for the app, with `interface Register`).
  useParleyEvent<typeof events, 'call.offer'>('call.offer', (e) =>
    setLog((l) => [...l, `direct offer ${e.payload.sdp} from ${e.from}`]),
  );
  useParleyEvent<typeof events, 'call.offer'>(
    'call.offer',
    (e) => setLog((l) => [...l, `room offer ${e.payload.sdp} in ${e.conversationId}`]),
    { conversationId: 'c1' },
  );
  return (
    <ul>
      {log.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}

it('delivers typed custom events once per event under StrictMode', async () => {
  const alice = kit.client('alice');
  const bob = kit.client('bob');
  await kit.connected(alice);
  await kit.connected(bob);
  render(
    <StrictMode>
      <ParleyProvider client={alice}>
        <Calls />
      </ParleyProvider>
    </StrictMode>,
  );
  await bob.emit('call.hangup', { userId: 'alice' }, { reason: 'ignored by the filter' });
  await bob.emit('call.offer', { userId: 'alice' }, { sdp: 'v=0 a' });
  await bob.conversation('c1').emit('call.offer', { sdp: 'v=0 b' });
  await screen.findByText('direct offer v=0 a from bob');
  await screen.findByText('room offer v=0 b in c1');
  expect(screen.getAllByRole('listitem')).toHaveLength(2);
});
