/**
 * The `ws` adapters' pre-framed send (issue 15): a frame fanned out to many sockets is framed once
 * and written to each socket as one ready buffer. Real `ws` servers and clients on 127.0.0.1: the
 * client's own parser checks every frame, at each length encoding (7-bit, 16-bit, 64-bit), with
 * multi-byte UTF-8, and the permessage-deflate connection that must take `ws.send` instead.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type PerMessageDeflateOptions, WebSocket, WebSocketServer } from 'ws';
import { bindWebSocket, textFrame } from '../../src/adapters/shared/ws.js';
import type { HubSocket } from '../../src/hub/outbound.js';

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const d of disposers.splice(0).reverse()) await d();
});

interface Pair {
  /** The hub's view of the server side of each connection, in accept order. */
  sockets: HubSocket[];
  clients: WebSocket[];
  /** Raw writes to each server-side TCP socket: one entry per `socket.write` call. */
  writes: Buffer[][];
}

/** A `ws` server whose connections are bound like the hub's, and `n` connected clients. */
async function connect(n: number, perMessageDeflate: boolean | PerMessageDeflateOptions = false) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  disposers.push(() => new Promise<void>((r) => wss.close(() => r())));
  const pair: Pair = { sockets: [], clients: [], writes: [] };
  const hub = {
    open(socket: HubSocket) {
      pair.sockets.push(socket);
      return { onMessage() {}, onClose() {}, onPong() {} };
    },
  };
  const accepted = new Promise<void>((resolve) => {
    wss.on('connection', (ws) => {
      const tcp = (ws as unknown as { _socket: { write: (...a: unknown[]) => boolean } })._socket;
      const log: Buffer[] = [];
      pair.writes.push(log);
      const write = tcp.write.bind(tcp);
      tcp.write = (chunk: unknown, ...rest: unknown[]) => {
        log.push(Buffer.from(chunk as Uint8Array));
        return write(chunk, ...rest);
      };
      bindWebSocket(hub as never, ws, {
        headers: {},
        url: '/',
        query: new URLSearchParams(),
      } as never);
      if (pair.sockets.length === n) resolve();
    });
  });
  const port = (wss.address() as AddressInfo).port;
  for (let i = 0; i < n; i++) {
    const c = new WebSocket(`ws://127.0.0.1:${port}`, {
      perMessageDeflate: perMessageDeflate !== false,
    });
    disposers.push(() => c.terminate());
    pair.clients.push(c);
    await new Promise<void>((r, j) => {
      c.once('open', () => r());
      c.once('error', j);
    });
  }
  await accepted;
  return pair;
}

/** The next `count` text messages a client receives (fails on a binary one or a close). */
function receive(c: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} frames`)), 5000);
    c.on('message', (data, isBinary) => {
      if (isBinary) reject(new Error('binary frame'));
      got.push((data as Buffer).toString('utf8'));
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    c.once('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

/** A text of exactly `bytes` UTF-8 bytes, with 2-, 3- and 4-byte characters in it. */
function textOfBytes(bytes: number, salt: number): string {
  const head = bytes > 10 ? `${salt % 10}é€😀` : '';
  const pad = bytes - Buffer.byteLength(head);
  return head + 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(pad / 26)).slice(0, pad);
}

// The edges of the three length encodings (RFC 6455 §5.2).
const SIZES = [1, 125, 126, 127, 65_535, 65_536, 200_000];

describe('ws adapter: pre-framed sends', () => {
  it('textFrame encodes each length form as ws frames it', () => {
    for (const n of SIZES) {
      const frame = textFrame(Buffer.alloc(n, 0x61));
      expect(frame[0]).toBe(0x81);
      const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
      expect(frame.length).toBe(header + n);
      const len =
        header === 2
          ? frame[1]
          : header === 4
            ? frame.readUInt16BE(2)
            : Number(frame.readBigUInt64BE(2));
      expect(frame[1]).toBe(header === 2 ? n : header === 4 ? 126 : 127);
      expect(len).toBe(n);
    }
  });

  it('delivers every size intact and in order, each frame as one write of the whole frame', async () => {
    const { sockets, clients, writes } = await connect(2);
    const texts = SIZES.map((n, i) => textOfBytes(n, i));
    const got = clients.map((c) => receive(c, texts.length));
    for (const t of texts) {
      // One fan-out: the same bytes to both sockets, as the hub's Outbound hands them.
      const bytes = Buffer.from(t, 'utf8');
      for (const s of sockets) s.sendBytes!(bytes);
    }
    for (const g of await Promise.all(got)) expect(g).toEqual(texts);
    for (const log of writes) {
      // Nothing but our frames was written, one write each: header and payload together.
      expect(log.map((w) => w.length)).toEqual(
        texts.map((t) => {
          const n = Buffer.byteLength(t);
          return n + (n < 126 ? 2 : n < 65_536 ? 4 : 10);
        }),
      );
      expect(log.every((w) => w[0] === 0x81)).toBe(true);
    }
  });

  it('frames new bytes anew even when they equal the previous length (no stale frame)', async () => {
    const { sockets, clients } = await connect(1);
    const got = receive(clients[0]!, 3);
    sockets[0]!.sendBytes!(Buffer.from('aaaa'));
    sockets[0]!.sendBytes!(Buffer.from('bbbb'));
    sockets[0]!.send('cccc');
    expect(await got).toEqual(['aaaa', 'bbbb', 'cccc']);
  });

  it('a connection with permessage-deflate takes ws.send: compressed frames, same text', async () => {
    const { sockets, clients, writes } = await connect(1, { threshold: 0 });
    const texts = [textOfBytes(50, 1), textOfBytes(70_000, 2), textOfBytes(126, 3)];
    const got = receive(clients[0]!, texts.length);
    for (const t of texts) sockets[0]!.sendBytes!(Buffer.from(t, 'utf8'));
    expect(await got).toEqual(texts);
    // RSV1 set: ws compressed them itself (a pre-built frame never is).
    const firsts = writes[0]!.filter((w) => w.length <= 10 && (w[0]! & 0x0f) === 1);
    expect(firsts.length).toBe(texts.length);
    expect(firsts.every((w) => (w[0]! & 0x40) !== 0)).toBe(true);
  });

  it('after close, a pre-framed send writes nothing and throws nothing', async () => {
    const { sockets, clients, writes } = await connect(1);
    const closed = new Promise<void>((r) => clients[0]!.once('close', () => r()));
    sockets[0]!.close(1000, 'bye');
    const before = writes[0]!.length;
    expect(() => sockets[0]!.sendBytes!(Buffer.from('late'))).not.toThrow();
    await closed;
    // The only writes after close() are the close frame's (ws writes it itself).
    expect(writes[0]!.slice(before).some((w) => w.toString('latin1').includes('late'))).toBe(false);
  });
});
