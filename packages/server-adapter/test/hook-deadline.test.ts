/**
 * Every wait has a deadline: the app's hooks the hub waits on while it handles a frame
 * (`isMember`, `onRead`, `authorizeOperation`, `membersOf`, `conversationMeta`) end within
 * `limits.hookTimeoutMs`. A hook that never settles answers its frame `unavailable`, and the
 * socket's next frames go on (fake timers drive the clock).
 */
import { describe, expect, it, vi } from 'vitest';
import { createHub, type Hub } from '../src/hub/hub.js';
import type { HubOptions } from '../src/hub/options.js';
import { FakeSocket, fakeTimersClosing, openFakeSocket, request } from './utils/fake-socket.js';

const HOOK_MS = 2_000;
const never = <T>(): Promise<T> => new Promise<T>(() => {});

describe('deadline of the hooks a frame waits on', () => {
  let hub: Hub;
  fakeTimersClosing(() => hub);

  const make = (options: Partial<HubOptions>) => {
    hub = createHub({
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1', 'c2'],
      limits: { hookTimeoutMs: HOOK_MS },
      ...options,
    });
    return hub;
  };
  const open = (token: string): Promise<FakeSocket> => openFakeSocket(hub, token);
  const send = (s: FakeSocket, ref: string, clientMsgId: string, conversationId = 'c1') =>
    s.handlers.onMessage(
      JSON.stringify({ type: 'send', ref, conversationId, clientMsgId, text: 'hi' }),
    );
  const answer = (s: FakeSocket, ref: string) =>
    s.frames.find((f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref);
  /** The frame is answered `unavailable` at the deadline, not a millisecond before. */
  const answeredAtDeadline = async (s: FakeSocket, ref: string) => {
    await vi.advanceTimersByTimeAsync(HOOK_MS - 1);
    expect(answer(s, ref)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer(s, ref)).toMatchObject({ type: 'error', code: 'unavailable' });
  };

  it('isMember: the send is answered unavailable, and the next one is stored', async () => {
    let calls = 0;
    make({ isMember: () => (++calls === 1 ? never<boolean>() : true) });
    const alice = await open('alice');
    send(alice, 'r1', 'k1');
    send(alice, 'r2', 'k2');
    await answeredAtDeadline(alice, 'r1');
    expect(answer(alice, 'r1')).toMatchObject({ clientMsgId: 'k1', conversationId: 'c1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 'r2')).toMatchObject({ type: 'ack', duplicate: false });
  });

  it('onRead: the read is answered unavailable and not recorded; the socket goes on', async () => {
    let calls = 0;
    make({ onRead: () => (++calls === 1 ? never<void>() : undefined) });
    const alice = await open('alice');
    const bob = await open('bob');
    send(bob, 's1', 'k1');
    await vi.advanceTimersByTimeAsync(0);
    alice.handlers.onMessage(
      JSON.stringify({ type: 'read', ref: 'r1', conversationId: 'c1', seq: 1 }),
    );
    // In another conversation: a send marks its own conversation read.
    send(alice, 's2', 'k2', 'c2');
    await answeredAtDeadline(alice, 'r1');
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 's2')).toMatchObject({ type: 'ack' });
    // Not recorded: the retry reaches the app again (a recorded read would be "not advanced").
    alice.handlers.onMessage(
      JSON.stringify({ type: 'read', ref: 'r2', conversationId: 'c1', seq: 1 }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
  });

  it('authorizeOperation: the edit is answered unavailable, and the next frame is served', async () => {
    let calls = 0;
    make({ authorizeOperation: () => (++calls === 1 ? never<boolean>() : true) });
    const alice = await open('alice');
    send(alice, 's1', 'k1');
    await vi.advanceTimersByTimeAsync(0);
    alice.handlers.onMessage(
      JSON.stringify({
        type: 'edit',
        ref: 'e1',
        conversationId: 'c1',
        clientMsgId: 'op1',
        target: 1,
        text: 'edited',
      }),
    );
    send(alice, 's2', 'k2');
    await answeredAtDeadline(alice, 'e1');
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 's2')).toMatchObject({ type: 'ack' });
  });

  it('conversationMeta: the summary comes at the deadline, without the metadata', async () => {
    make({ conversationMeta: () => never() });
    const s = new FakeSocket();
    s.handlers = hub.open(s, request);
    s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: 'alice' }));
    await vi.advanceTimersByTimeAsync(HOOK_MS - 1);
    expect(s.of('summary')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    const [summary] = s.of('summary');
    expect(summary?.conversations.map((c) => c.id).sort()).toEqual(['c1', 'c2']);
    expect(summary?.conversations.every((c) => c.meta === undefined)).toBe(true);
  });

  it('membersOf: a session start waiting on it ends at the deadline (1011), not at the session deadline', async () => {
    make({ membersOf: () => never<string[]>() });
    const s = new FakeSocket();
    s.handlers = hub.open(s, request);
    s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: 'alice' }));
    await vi.advanceTimersByTimeAsync(HOOK_MS - 1);
    expect(s.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closed).toEqual({ code: 1011, reason: 'unavailable' });
  });
});
