import type {
  ClientFrame,
  ClientFrameType,
  Message,
  ServerFrame,
  ServerFrameType,
} from '../src/index.js';

export const message: Message = {
  id: 'm_01',
  conversationId: 'c1',
  seq: 42,
  clientMsgId: '6f1c7a1e-1b2c-4d5e-8f90-123456789abc',
  senderId: 'alice',
  sender: { name: 'Alice', avatarUrl: 'https://example.com/a.png' },
  kind: 'user',
  text: 'hello',
  data: { mentions: ['bob'], nested: { ok: true } },
  createdAt: 1_763_700_000_000,
};

/** One valid example of every client frame type. */
export const clientFrames: { [K in ClientFrameType]: Extract<ClientFrame, { type: K }> } = {
  hello: {
    type: 'hello',
    protocol: 1,
    token: 'eyJhbGciOi...',
    cursors: { c1: { seq: 41, epoch: 'e1' }, c2: { seq: 0 } },
    client: { name: '@parley/client', version: '0.1.0' },
  },
  auth: { type: 'auth', ref: 'r1', token: 'fresh-token' },
  send: {
    type: 'send',
    ref: 'r2',
    conversationId: 'c1',
    clientMsgId: 'k1',
    text: 'hi',
    data: { a: [1, 2] },
    replyTo: 41,
  },
  edit: {
    type: 'edit',
    ref: 'r8',
    conversationId: 'c1',
    clientMsgId: 'k2',
    target: 42,
    text: 'hello (edited)',
  },
  delete: { type: 'delete', ref: 'r9', conversationId: 'c1', clientMsgId: 'k3', target: 42 },
  react: {
    type: 'react',
    ref: 'r10',
    conversationId: 'c1',
    clientMsgId: 'k4',
    target: 42,
    emoji: '👍',
    on: true,
  },
  typing: { type: 'typing', conversationId: 'c1', state: 'start' },
  read: { type: 'read', ref: 'r3', conversationId: 'c1', seq: 42 },
  sync: { type: 'sync', ref: 'r4', conversationId: 'c1', after: 40, epoch: 'e1' },
  history: { type: 'history', ref: 'r5', conversationId: 'c1', before: 40, limit: 50 },
  event: { type: 'event', ref: 'r6', name: 'call.offer', userId: 'bob', payload: { sdp: 'v=0' } },
  ping: { type: 'ping', ref: 'r7' },
  pong: { type: 'pong', ref: 's1' },
};

/** One valid example of every server frame type. */
export const serverFrames: { [K in ServerFrameType]: Extract<ServerFrame, { type: K }> } = {
  welcome: {
    type: 'welcome',
    protocol: 1,
    sessionId: 's_9f2',
    user: { id: 'alice', name: 'Alice' },
    conversations: [{ id: 'c1', seq: 42, epoch: 'e1', readSeq: 40, reads: { bob: 42 }, unread: 2 }],
    presence: [{ userId: 'bob', online: true }],
    heartbeat: { intervalMs: 25_000, timeoutMs: 10_000 },
    limits: {
      maxFrameBytes: 65_536,
      maxTextLength: 10_000,
      rate: { burst: 60, perSecond: 20 },
      dedupeWindowMs: 86_400_000,
    },
    expiresAt: 1_763_703_600_000,
  },
  message: { type: 'message', message },
  ack: { type: 'ack', ref: 'r2', clientMsgId: message.clientMsgId, message, duplicate: false },
  error: {
    type: 'error',
    ref: 'r2',
    code: 'forbidden',
    message: 'not a member of c9',
    conversationId: 'c9',
    clientMsgId: 'k1',
  },
  replay: { type: 'replay', conversationId: 'c1', epoch: 'e1', seq: 42, messages: [message] },
  reset: { type: 'reset', conversationId: 'c1', epoch: 'e2', seq: 900, reason: 'trimmed' },
  history: { type: 'history', ref: 'r5', conversationId: 'c1', messages: [message], hasMore: true },
  typing: { type: 'typing', conversationId: 'c1', userId: 'bob', state: 'start', ttlMs: 6000 },
  read: { type: 'read', conversationId: 'c1', userId: 'bob', seq: 42 },
  presence: { type: 'presence', userId: 'bob', online: false, lastSeenAt: 1_763_700_000_000 },
  joined: { type: 'joined', conversationId: 'c3', seq: 0, epoch: 'e3' },
  left: { type: 'left', conversationId: 'c3' },
  event: { type: 'event', name: 'call.offer', from: 'alice', payload: { sdp: 'v=0' } },
  reauth: { type: 'reauth', deadlineMs: 30_000 },
  authed: { type: 'authed', ref: 'r1', expiresAt: 1_763_707_200_000 },
  ok: { type: 'ok', ref: 'r6' },
  summary: {
    type: 'summary',
    conversations: [
      {
        id: 'c1',
        lastMessage: message,
        meta: { title: 'Design review', members: ['alice', 'bob'], data: { pinned: true } },
      },
    ],
    more: false,
  },
  conversation: {
    type: 'conversation',
    conversationId: 'c1',
    meta: { title: 'Design review (v2)', avatarUrl: 'https://example.com/c1.png' },
  },
  synced: { type: 'synced' },
  shutdown: { type: 'shutdown', retryAfterMs: 1_500 },
  ping: { type: 'ping', ref: 's1' },
  pong: { type: 'pong', ref: 'r7' },
};

/** Returns the first required (non-`type`) key of a frame, used to build "missing field" cases. */
export function requiredKeyOf(
  frame: Record<string, unknown>,
  optional: readonly string[],
): string | undefined {
  return Object.keys(frame).find((k) => k !== 'type' && !optional.includes(k));
}
