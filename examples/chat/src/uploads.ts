/**
 * The demo's image uploads: the pattern an app uses with Parley, not a file server. The page
 * uploads the file to the app (`POST /api/uploads`, the session's bearer token), gets back where it
 * lives (`{ url, key, name, size, type, width?, height? }`) and sends a message whose typed `data`
 * carries that ({ attachment }); Parley only ever carries the reference. A real app would put the
 * bytes in object storage (S3, GCS...) and return a signed URL; the demo keeps them in memory,
 * bounded, under unguessable keys (an `<img>` cannot send the bearer token).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IMAGE_TYPES, type ImageType, sniffImage } from './image.js';

/** The largest accepted file. */
export const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
/** Past this, an oversized upload's connection is dropped instead of read to its end. */
const DRAIN_BYTES = 4 * MAX_UPLOAD_BYTES;

/** What the upload endpoint answers, and what a message's `data.attachment` carries. */
export interface Attachment {
  /** Where the page loads it from (same origin). */
  url: string;
  /** The app's key for the file (here: the last segment of `url`). */
  key: string;
  /** The file name the user picked (display only). */
  name: string;
  /** Bytes. */
  size: number;
  type: ImageType;
  width?: number;
  height?: number;
}

interface StoredFile {
  type: ImageType;
  body: Buffer;
  owner: string;
}

export interface UploadStore {
  put(owner: string, type: ImageType, body: Buffer): string;
  get(key: string): StoredFile | undefined;
}

/**
 * Files in memory, oldest dropped past `maxFiles` or `maxBytes` in all. Pass the same store to a
 * restarted server (tests) to keep them, like the engine and the directory.
 */
export function createUploadStore(maxFiles = 200, maxBytes = 64 * 1024 * 1024): UploadStore {
  const files = new Map<string, StoredFile>();
  let total = 0;
  return {
    put(owner, type, body) {
      const key = randomUUID();
      files.set(key, { type, body, owner });
      total += body.byteLength;
      for (const [k, f] of files) {
        if (files.size <= maxFiles && total <= maxBytes) break;
        files.delete(k);
        total -= f.body.byteLength;
      }
      return key;
    },
    get: (key) => files.get(key),
  };
}

/** An upload refused: the HTTP status and a message for the page. */
export class UploadError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

const KEY = /^\/uploads\/([0-9a-f-]{36})$/;

/** The path `GET` serves a stored file on, or `undefined`. */
export const uploadKeyOf = (path: string) => KEY.exec(path)?.[1];

/** Reads, checks and stores one upload (the raw bytes are the request body). */
export async function receiveUpload(
  req: IncomingMessage,
  owner: string,
  store: UploadStore,
): Promise<Attachment> {
  const declared = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the bound nothing is kept, but the rest is read (up to a point) so that the browser gets
  // the 413 instead of a connection reset in the middle of its upload.
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > DRAIN_BYTES) break;
    if (size <= MAX_UPLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_UPLOAD_BYTES) throw new UploadError(413, 'the file is larger than 2 MiB');
  if (!IMAGE_TYPES.includes(declared as ImageType)) {
    throw new UploadError(415, `only ${IMAGE_TYPES.join(', ')} are accepted`);
  }
  const body = Buffer.concat(chunks);
  if (body.byteLength === 0) throw new UploadError(400, 'the file is empty');
  const info = sniffImage(body);
  if (info?.type !== declared) {
    throw new UploadError(415, `the file is not a ${declared.slice(6).toUpperCase()} image`);
  }
  const key = store.put(owner, info.type, body);
  return {
    url: `/uploads/${key}`,
    key,
    name: fileName(req.headers['x-file-name']),
    size: body.byteLength,
    type: info.type,
    ...(info.width ? { width: info.width } : {}),
    ...(info.height ? { height: info.height } : {}),
  };
}

/** The picked file's name from `X-File-Name` (URI-encoded), cleaned for display. */
function fileName(header: string | string[] | undefined): string {
  let name = typeof header === 'string' ? header : 'image';
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it as sent
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we drop
  name = name.replace(/[\u0000-\u001f\u007f/\\]/g, '').trim();
  return name.slice(0, 120) || 'image';
}

/** Serves a stored file: its checked type, never sniffed by the browser, cacheable. */
export function serveUpload(
  res: ServerResponse,
  store: UploadStore,
  key: string,
  head: boolean,
): void {
  const file = store.get(key);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' });
    res.end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': file.body.byteLength,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, max-age=31536000, immutable',
  });
  res.end(head ? undefined : file.body);
}
