/**
 * What the Fetch-API adapters (Bun, Deno) answer at the hub's path when the request is not a
 * WebSocket upgrade they can take: never a hang or a 500.
 */
import net from 'node:net';
import { expect, it } from 'vitest';
import type { Fixture } from '../utils/fixture.js';

/** Sends raw HTTP and resolves with the status line's code. */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => {
      data += d.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        resolve(Number(m[1]));
        s.destroy();
      }
    });
    s.on('error', reject);
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error(`no answer: ${JSON.stringify(data)}`));
    });
  });
}

export function refusalTests(setup: () => Promise<Fixture>): void {
  it('answers a plain request at the hub path 426, a malformed upgrade 400, other paths to the app', async () => {
    const f = await setup();
    const hubPath = `${f.server.http}/parley`;
    const plain = await fetch(hubPath);
    expect([plain.status, await plain.text()]).toEqual([426, 'upgrade required']);
    const port = Number(new URL(f.server.http).port);
    // An upgrade without Sec-WebSocket-Key: the runtime cannot complete the handshake.
    const malformed = await rawStatus(
      port,
      'GET /parley HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(malformed).toBe(400);
    expect((await fetch(`${f.server.http}/parley/other`)).status).toBe(200); // the app's route
    const alice = await f.connect('alice'); // and the hub still works
    expect(alice.welcome.user.id).toBe('alice');
  });
}
