import {
  type AppEvent,
  createClient,
  defineEvents,
  type ParleyClient,
  ServerError,
} from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type CallEvents, callEvents } from '../src/events.js';
import { type SignalingServer, startSignalingServer } from '../src/server.js';

type CallEvent = AppEvent<CallEvents>;

/** Resolves when `check()` holds, re-checking whenever `subscribe` reports a change. */

describe('call signalling over typed custom events', () => {
  let server: SignalingServer;
  const clients: ParleyClient<never>[] = [];

  beforeEach(async () => {
    server = await startSignalingServer();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  /** A connected client that records the call events it receives, in order. */
  async function user(name: string) {
    const client = createClient({ url: server.wsUrl, token: `${name}-token`, events: callEvents });
    clients.push(client as unknown as ParleyClient<never>);
    const received: CallEvent[] = [];
    client.on('event', (e) => received.push(e));
    await waitUntil(
      (fn) => client.on('state', fn),
      () => client.state === 'open',
      `${name} open`,
    );
    const waitFor = (n: number) =>
      waitUntil(
        (fn) => client.on('event', fn),
        () => received.length >= n,
        `${name}: ${n} events`,
      );
    return { client, received, waitFor };
  }

  it('offer → answer → ICE arrive typed and in order; a third user gets nothing', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol'); // shares the "team" conversation, but is not in the call

    await alice.client.emit(
      'call.offer',
      { userId: 'bob' },
      {
        callId: 'c1',
        sdp: 'v=0 offer',
        media: ['audio', 'video'],
      },
    );
    await bob.waitFor(1);
    const offer = bob.received[0]!;
    expect(offer).toEqual({
      name: 'call.offer',
      from: 'alice',
      payload: { callId: 'c1', sdp: 'v=0 offer', media: ['audio', 'video'] },
    });
    if (offer.name === 'call.offer') {
      // Typed by the zod schema: no casts.
      expectTypeOf(offer.payload.media).toEqualTypeOf<('audio' | 'video')[]>();
      expectTypeOf(offer.payload.sdp).toEqualTypeOf<string>();
    }

    await bob.client.emit('call.answer', { userId: 'alice' }, { callId: 'c1', sdp: 'v=0 answer' });
    const candidates = Array.from({ length: 5 }, (_, i) => ({
      callId: 'c1',
      candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${i + 1} 5000${i} typ host`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    }));
    for (const c of candidates) await alice.client.emit('call.ice', { userId: 'bob' }, c);
    await bob.client.emit(
      'call.ice',
      { userId: 'alice' },
      { ...candidates[0]!, sdpMid: null, sdpMLineIndex: null },
    );
    await alice.client.emit('call.hangup', { userId: 'bob' }, { callId: 'c1', reason: 'ended' });

    await bob.waitFor(7);
    expect(bob.received.map((e) => e.name)).toEqual([
      'call.offer',
      ...candidates.map(() => 'call.ice'),
      'call.hangup',
    ]);
    expect(bob.received.slice(1, 6).map((e) => e.payload)).toEqual(candidates);
    await alice.waitFor(2);
    expect(alice.received).toEqual([
      { name: 'call.answer', from: 'bob', payload: { callId: 'c1', sdp: 'v=0 answer' } },
      {
        name: 'call.ice',
        from: 'bob',
        payload: { ...candidates[0], sdpMid: null, sdpMLineIndex: null },
      },
    ]);

    // The same connection carries chat messages: a message in the team conversation, sent after
    // every signal, reaches Carol — and nothing of the call did.
    await alice.client.conversation('team').send('call is over, notes in the doc');
    const team = carol.client.conversation('team');
    await waitUntil(
      (fn) => team.on('update', fn),
      () => team.messages.length === 1,
      'carol message',
    );
    expect(carol.received).toEqual([]);
  });

  it('invalid payloads are rejected: by the sending client, and by the hub for a client with looser schemas', async () => {
    const alice = await user('alice');
    const bob = await user('bob');

    // 1. The typed client refuses before sending (and TypeScript refuses at compile time).
    const bad = alice.client.emit(
      'call.offer',
      { userId: 'bob' },
      {
        callId: 'c2',
        sdp: '',
        // @ts-expect-error -- not a media kind
        media: ['fax'],
      },
    );
    await expect(bad).rejects.toBeInstanceOf(ServerError);
    await expect(bad).rejects.toMatchObject({ code: 'invalid_frame' });

    // 2. A client built with looser (e.g. outdated) schemas sends it anyway: the hub validates
    //    with the app's schemas and refuses it; `emit` rejects with that refusal (correlated by
    //    ref, not an unlinked `error` event). Bob gets nothing.
    const loose = createClient({
      url: server.wsUrl,
      token: 'carol-token',
      events: defineEvents({ 'call.offer': z.any() }),
    });
    clients.push(loose as unknown as ParleyClient<never>);
    await waitUntil(
      (fn) => loose.on('state', fn),
      () => loose.state === 'open',
      'loose open',
    );
    const errors: ServerError[] = [];
    loose.on('error', (e) => errors.push(e));
    const refused = await loose
      .emit('call.offer', { userId: 'bob' }, { callId: 'c3', sdp: 42 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServerError);
    expect(refused).toMatchObject({ code: 'invalid_frame' });
    expect((refused as ServerError).field).toMatch(/payload/);
    expect(errors).toEqual([]);

    // 3. Server code is held to the same schemas.
    await expect(
      server.hub.sendToUser('bob', {
        name: 'call.hangup',
        payload: { callId: 'c4', reason: 'nope' } as never,
      }),
    ).rejects.toThrow();

    // Bob received none of it: a valid event sent afterwards is the first thing he gets.
    await alice.client.emit('call.hangup', { userId: 'bob' }, { callId: 'c5', reason: 'ended' });
    await bob.waitFor(1);
    expect(bob.received.map((e) => e.payload)).toEqual([{ callId: 'c5', reason: 'ended' }]);
  });
});
