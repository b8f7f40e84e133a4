/**
 * The BUILT client (dist/, with its internal member names mangled for size — tsup.config.ts)
 * against the real hub: a guard that the mangling renamed nothing the client reads from the
 * runtime or the wire. Needs a build (`pnpm test` makes one when it is missing or stale).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type ParleyClient, type ReconnectInfo } from '../../dist/index.js';
import { nextEvent, until } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect(h: TestHub, token: string): ParleyClient {
  const c = createClient({
    url: h.url,
    token,
    WebSocket: h.WebSocket,
    reconnect: { minDelayMs: 5 },
  });
  clients.push(c);
  return c;
}

const synced = (c: ParleyClient) =>
  c.synced ? Promise.resolve() : nextEvent<void>((l) => c.on('synced', l));

describe('the built client against the real hub', () => {
  it('sends, receives, reads, pages, resumes after a cut and flushes its outbox', async () => {
    hub = await startHub();
    const a = connect(hub, 'alice');
    const b = connect(hub, 'bob');
    const reconnects: ReconnectInfo[] = [];
    a.on('reconnect', (info) => reconnects.push(info));
    await Promise.all([synced(a), synced(b)]);
    const ra = a.conversation('room');
    const rb = b.conversation('room');
    await ra.send('one', { data: { n: 1 } });
    await until(() => expect(rb.messages.map((m) => m.text)).toEqual(['one']));
    expect(rb.unreadCount).toBe(1);
    rb.markRead();
    await until(() => expect(ra.reads.get('bob')).toBe(1));
    hub.killServerSockets();
    const p = ra.send('two');
    expect(ra.messages.at(-1)).toMatchObject({ status: 'pending', text: 'two' });
    await p;
    // Public event payloads keep their field names (the mangled names are internal only).
    expect(reconnects[0]).toEqual({
      attempt: 1,
      delayMs: expect.any(Number),
      code: expect.any(Number),
      reason: expect.any(String),
    });
    await until(() => expect(rb.messages.map((m) => m.text)).toEqual(['one', 'two']));
    // A third device starts at the head and pages the conversation in.
    const c = connect(hub, 'bob');
    await synced(c);
    expect(await c.conversation('room').open()).toMatchObject([{ text: 'one' }, { text: 'two' }]);
    expect(c.conversation('room').readSeq).toBe(1);
  });
});
