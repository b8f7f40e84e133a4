/**
 * The client's default frame decoder: `JSON.parse` plus structural checks of every field the
 * client reads, so a malformed frame is dropped instead of corrupting state. It keeps Zod out of
 * the browser bundle (~9 KB min+gzip). For full schema validation pass
 * `decode: decodeServerFrame` from `@parley/protocol` in the client options.
 */
import { ProtocolError, type RawData, rawToText, type ServerFrame } from '@parley/protocol/core';

type Kind = 's' | 'n' | 'b' | 'o' | 'a' | 's?' | 'n?' | 'o?';
type Shape = Record<string, Kind>;

const message: Shape = {
  id: 's',
  conversationId: 's',
  seq: 'n',
  clientMsgId: 's',
  senderId: 's',
  kind: 's',
  text: 's',
  createdAt: 'n',
};

/** Required fields per frame type (`?` = optional but typed when present). */
const frames: Record<ServerFrame['type'], Shape> = {
  welcome: {
    protocol: 'n',
    sessionId: 's',
    user: 'o',
    conversations: 'a',
    presence: 'a',
    heartbeat: 'o',
    limits: 'o',
  },
  message: { message: 'o' },
  ack: { clientMsgId: 's', message: 'o', duplicate: 'b' },
  error: { code: 's', message: 's', clientMsgId: 's?', retryAfterMs: 'n?' },
  replay: { conversationId: 's', epoch: 's', seq: 'n', messages: 'a' },
  reset: { conversationId: 's', epoch: 's', seq: 'n', reason: 's', readSeq: 'n?', unread: 'n?' },
  history: { conversationId: 's', messages: 'a', hasMore: 'b' },
  typing: { conversationId: 's', userId: 's', state: 's', ttlMs: 'n' },
  read: { conversationId: 's', userId: 's', seq: 'n' },
  presence: { userId: 's', online: 'b', lastSeenAt: 'n?' },
  joined: { conversationId: 's', seq: 'n', epoch: 's', readSeq: 'n?', unread: 'n?' },
  left: { conversationId: 's' },
  event: { name: 's', from: 's', conversationId: 's?' },
  reauth: { deadlineMs: 'n' },
  authed: {},
  ok: { ref: 's' },
  summary: { conversations: 'a', more: 'b' },
  conversation: { conversationId: 's', meta: 'o' },
  synced: {},
  shutdown: { retryAfterMs: 'n' },
  ping: {},
  pong: {},
};

const welcomeConversation: Shape = { id: 's', seq: 'n', epoch: 's', readSeq: 'n', unread: 'n' };
const presence: Shape = { userId: 's', online: 'b' };

function fail(type: string, field: string): never {
  throw new ProtocolError('invalid_frame', `${type}.${field} is missing or has the wrong type`, {
    field,
    frameType: type,
  });
}

function check(type: string, path: string, v: Record<string, unknown>, shape: Shape): void {
  for (const key in shape) {
    const kind = shape[key]!;
    const x = v[key];
    if (kind.endsWith('?') && x === undefined) continue;
    const ok =
      kind[0] === 's'
        ? typeof x === 'string'
        : kind[0] === 'n'
          ? typeof x === 'number' && Number.isFinite(x)
          : kind === 'b'
            ? typeof x === 'boolean'
            : kind === 'a'
              ? Array.isArray(x)
              : typeof x === 'object' && x !== null;
    if (!ok) fail(type, path + key);
  }
}

function each(type: string, field: string, list: unknown, shape: Shape): void {
  const items = list as unknown[];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'object' || item === null) fail(type, `${field}.${i}`);
    check(type, `${field}.${i}.`, item as Record<string, unknown>, shape);
  }
}

/** Parses and structurally checks a server frame. Throws `ProtocolError`. */
export function decodeFrame(data: RawData): ServerFrame {
  // Server frames (replays) may be large; the server bounds them, the client does not.
  const text = rawToText(data);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError('invalid_frame', 'frame is not valid JSON', { cause });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('frame', 'type');
  const f = v as Record<string, unknown>;
  const type = f.type;
  const shape =
    typeof type === 'string' && Object.hasOwn(frames, type)
      ? frames[type as ServerFrame['type']]
      : undefined;
  if (shape === undefined) {
    // `String()` of a parsed object can throw (`{"toString":""}`): name its kind instead.
    const name = typeof type === 'object' && type !== null ? typeof type : String(type);
    throw new ProtocolError(
      'unknown_type',
      `unknown frame type ${JSON.stringify(name.slice(0, 32))}`,
      {
        field: 'type',
      },
    );
  }
  const t = type as string;
  check(t, '', f, shape);
  if (f.ref !== undefined && typeof f.ref !== 'string') fail(t, 'ref');
  if (t === 'message' || t === 'ack')
    check(t, 'message.', f.message as Record<string, unknown>, message);
  else if (t === 'replay' || t === 'history') each(t, 'messages', f.messages, message);
  else if (t === 'summary') {
    each(t, 'conversations', f.conversations, { id: 's' });
    for (const c of f.conversations as Record<string, unknown>[]) {
      check(t, '', c, { lastMessage: 'o?', meta: 'o?' });
      if (c.lastMessage)
        check(t, 'lastMessage.', c.lastMessage as Record<string, unknown>, message);
    }
  } else if (t === 'read' && f.unread !== undefined) {
    check(t, '', f, { unread: 'o' });
    check(t, 'unread.', f.unread as Record<string, unknown>, { count: 'n', at: 'n' });
  } else if (t === 'welcome') {
    each(t, 'conversations', f.conversations, welcomeConversation);
    each(t, 'presence', f.presence, presence);
    check(t, 'user.', f.user as Record<string, unknown>, { id: 's' });
    const limits = f.limits as Record<string, unknown>;
    check(t, 'limits.', limits, { maxFrameBytes: 'n', maxTextLength: 'n', dedupeWindowMs: 'n?' });
    if (limits.rate !== undefined) {
      if (typeof limits.rate !== 'object' || limits.rate === null) fail(t, 'limits.rate');
      check(t, 'limits.rate.', limits.rate as Record<string, unknown>, {
        burst: 'n',
        perSecond: 'n',
      });
    }
  }
  // Every field the client reads was checked above.
  return f as unknown as ServerFrame;
}
