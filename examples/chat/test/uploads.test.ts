/**
 * The demo's attachment pattern, server side: `POST /api/uploads` (session token, png/jpeg/gif/webp
 * whose bytes agree with the declared type, at most 2 MiB) answers `{ url, key, name, size, type,
 * width, height }`; `GET url` serves the bytes with their type and `nosniff`; a message carries
 * the answer in `data.attachment` to the other member unchanged.
 */
import { createClient, type ParleyClient } from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { dmId } from '../src/directory.js';
import { sniffImage } from '../src/image.js';
import { type ChatServer, startChatServer } from '../src/server.js';
import { type Attachment, createUploadStore, MAX_UPLOAD_BYTES } from '../src/uploads.js';
import { GIF_HEAD, JPEG_HEAD, solidPng, webpLossless } from './images.js';

describe('demo uploads', () => {
  const servers: ChatServer[] = [];
  const clients: ParleyClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });
  async function start(options: Parameters<typeof startChatServer>[0] = {}) {
    const s = await startChatServer(options);
    servers.push(s);
    return s;
  }
  const upload = (
    s: ChatServer,
    body: Buffer,
    type: string,
    headers: Record<string, string> = {},
    user: string | null = 'alice',
  ) =>
    fetch(`${s.url}/api/uploads`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: {
        'content-type': type,
        ...(user ? { authorization: `Bearer ${s.tokenFor(user)}` } : {}),
        ...headers,
      },
    });

  it('the sniffer reads the type and size of png, gif, jpeg and webp, and nothing else', () => {
    expect(sniffImage(solidPng(40, 30, [1, 2, 3]))).toEqual({
      type: 'image/png',
      width: 40,
      height: 30,
    });
    expect(sniffImage(GIF_HEAD)).toEqual({ type: 'image/gif', width: 3, height: 2 });
    expect(sniffImage(JPEG_HEAD)).toEqual({ type: 'image/jpeg', width: 5, height: 2 });
    expect(sniffImage(webpLossless(7, 9))).toEqual({ type: 'image/webp', width: 7, height: 9 });
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(sniffImage(Buffer.from('<html><script>alert(1)</script>'))).toBeUndefined();
    expect(sniffImage(Buffer.alloc(0))).toBeUndefined();
  });

  it('a PNG is stored and served back with its type and nosniff', async () => {
    const s = await start();
    const png = solidPng(40, 30, [99, 102, 241]);
    const res = await upload(s, png, 'image/png', {
      'x-file-name': encodeURIComponent('café.png'),
    });
    expect(res.status).toBe(201);
    const a = (await res.json()) as Attachment;
    expect(a).toEqual({
      url: `/uploads/${a.key}`,
      key: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'café.png',
      size: png.byteLength,
      type: 'image/png',
      width: 40,
      height: 30,
    });
    const got = await fetch(`${s.url}${a.url}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await got.arrayBuffer()).equals(png)).toBe(true);
    const head = await fetch(`${s.url}${a.url}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(png.byteLength));
    expect((await fetch(`${s.url}/uploads/${'0'.repeat(36)}`)).status).toBe(404);
  });

  it('refuses without a session, other types, lying bytes, empty and oversized files', async () => {
    const s = await start();
    const png = solidPng(2, 2, [0, 0, 0]);
    expect((await upload(s, png, 'image/png', {}, null)).status).toBe(401);
    const bad = async (body: Buffer, type: string) => {
      const res = await upload(s, body, type);
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    expect(await bad(Buffer.from('<svg/>'), 'image/svg+xml')).toEqual({
      status: 415,
      error: 'only image/png, image/jpeg, image/gif, image/webp are accepted',
    });
    expect((await bad(Buffer.from('hello'), 'text/plain')).status).toBe(415);
    // Declared PNG, but HTML: never served as anything.
    expect(await bad(Buffer.from('<html><script>alert(1)</script>'), 'image/png')).toEqual({
      status: 415,
      error: 'the file is not a PNG image',
    });
    // Declared GIF, but a PNG: the type served must be the one checked.
    expect((await bad(png, 'image/gif')).status).toBe(415);
    expect((await bad(Buffer.alloc(0), 'image/png')).status).toBe(400);
    const big = Buffer.concat([png, Buffer.alloc(MAX_UPLOAD_BYTES)]);
    expect(await bad(big, 'image/png')).toEqual({
      status: 413,
      error: 'the file is larger than 2 MiB',
    });
    // Exactly at the bound is fine.
    const atBound = Buffer.concat([png, Buffer.alloc(MAX_UPLOAD_BYTES - png.byteLength)]);
    expect((await upload(s, atBound, 'image/png')).status).toBe(201);
  });

  it('the store keeps the newest files within its bounds', () => {
    const store = createUploadStore(2, 1_000);
    const k1 = store.put('alice', 'image/png', Buffer.alloc(10));
    const k2 = store.put('alice', 'image/png', Buffer.alloc(10));
    const k3 = store.put('alice', 'image/png', Buffer.alloc(10));
    expect([k1, k2, k3].map((k) => store.get(k) !== undefined)).toEqual([false, true, true]);
    const k4 = store.put('alice', 'image/png', Buffer.alloc(995));
    expect([k3, k4].map((k) => store.get(k) !== undefined)).toEqual([false, true]);
  });

  it('a message carries the upload in data.attachment to the other member', async () => {
    const s = await start();
    const res = await upload(s, solidPng(4, 3, [10, 20, 30]), 'image/png', {
      'x-file-name': 'dot.png',
    });
    const attachment = (await res.json()) as Attachment;
    const connect = (user: string) => {
      const c = createClient({
        url: `${s.url.replace('http', 'ws')}/parley`,
        token: s.tokenFor(user),
      });
      clients.push(c);
      return c;
    };
    const alice = connect('alice');
    const bob = connect('bob');
    const dm = dmId('alice', 'bob');
    const bobDm = bob.conversation(dm);
    await waitUntil(
      (fn) => bob.on('state', fn),
      () => bob.state === 'open',
      'bob open',
    );
    await alice.conversation(dm).send('', { data: { attachment: { ...attachment } } });
    await waitUntil(
      (fn) => bobDm.on('update', fn),
      () => bobDm.messages.some((m) => m.text === '' && m.data !== undefined),
      'bob got the attachment',
    );
    const got = bobDm.messages.find((m) => m.data !== undefined);
    expect(got?.data).toEqual({ attachment });
  });
});
