/**
 * Image attachments, the documented pattern: upload the file to the app (`POST /api/uploads`,
 * the session's token), then send a message whose `data` carries what the app answered:
 * `{ attachment: { url, key, name, size, type, width?, height? } }`. Parley carries the
 * reference; the bytes never go through the socket.
 */
import type { JsonValue } from '@parley/client';
import { app } from './state.js';

export interface Attachment {
  url: string;
  key: string;
  name: string;
  size: number;
  type: string;
  width?: number;
  height?: number;
}

export const ACCEPT = 'image/png,image/jpeg,image/gif,image/webp';

/**
 * The attachment of a message's `data`, when it is one this page shows: only images it can
 * load from its own server (`/uploads/...`), whatever another client put in `data`.
 */
export function attachmentOf(data: JsonValue | undefined): Attachment | undefined {
  const a = (data as { attachment?: Partial<Attachment> } | null | undefined)?.attachment;
  if (!a || typeof a !== 'object' || typeof a.url !== 'string') return undefined;
  if (!/^\/uploads\/[0-9a-f-]{36}$/.test(a.url)) return undefined;
  return {
    url: a.url,
    key: String(a.key ?? ''),
    name: typeof a.name === 'string' ? a.name : 'image',
    size: typeof a.size === 'number' ? a.size : 0,
    type: String(a.type ?? ''),
    ...(typeof a.width === 'number' ? { width: a.width } : {}),
    ...(typeof a.height === 'number' ? { height: a.height } : {}),
  };
}

/** Uploads `file`; rejects with the server's reason (type, size) as the message. */
export async function upload(file: File): Promise<Attachment> {
  const res = await fetch('/api/uploads', {
    method: 'POST',
    body: file,
    headers: {
      'content-type': file.type,
      'x-file-name': encodeURIComponent(file.name),
      ...(app.session ? { authorization: `Bearer ${app.session.token}` } : {}),
    },
  });
  const body = (await res.json().catch(() => ({}))) as Attachment & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `upload failed (${res.status})`);
  return body;
}

/** The display size of an image: at most 240 × 240, keeping its ratio. */
export function fitted(a: Attachment): { width?: number; height?: number } {
  if (!a.width || !a.height) return {};
  const scale = Math.min(1, 240 / a.width, 240 / a.height);
  return { width: Math.round(a.width * scale), height: Math.round(a.height * scale) };
}
