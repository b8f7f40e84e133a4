/**
 * The Redis engine's unread and inbox scripts (issue 16). Each touches the keys of ONE
 * conversation (a per-user inbox is one pipelined call per conversation), so they run unchanged on
 * Redis Cluster once a conversation's keys share a hash slot.
 *
 * Keys (P = keyPrefix):
 * - `P countable:<conv>` sorted set seq -> seq: the seqs of the countable messages (`user`,
 *   `system`), at least the newest `UNREAD_INDEX_MAX` (trimmed every 16th seq). An unread count
 *   is one `ZCOUNT`, capped at `UNREAD_INDEX_MAX`.
 * - `P meta:<conv>` field `cidx`: the epoch the countable index belongs to; an index left from an
 *   older history (the meta key was lost, seqs restarted) is dropped before use.
 */

import { UNREAD_INDEX_MAX } from '../types.js';
import { OVERLAYS } from './overlay-lua.js';

/**
 * Drops a countable index (KEYS[index]) that belongs to another history than `epoch`.
 * Expects `epoch` and `cidx` (the meta hash's field, read by the same `HMGET`) in scope, after
 * `ENSURE_EPOCH` of `scripts.ts`; KEYS[1] is the meta key.
 */
export const COUNTABLE_EPOCH = (index: number): string => `
if cidx ~= epoch then
  redis.call('DEL', KEYS[${index}])
  redis.call('HSET', KEYS[1], 'cidx', epoch)
end
`;

/**
 * For `append` of a countable message: indexes its seq (keeping the newest `max`) and raises the
 * sender's read position to it ("sending marks read"). Expects `seq` in scope.
 */
export const INDEX_COUNTABLE = (
  indexKey: string,
  readsKey: string,
  flagArg: string,
  senderArg: string,
  maxArg: string,
): string => `
if ${flagArg} == '1' then
  redis.call('ZADD', ${indexKey}, seq, s)
  -- Trimmed every 16th seq (the index holds at least the newest max, as in the memory engine).
  if seq % 16 == 0 then redis.call('ZREMRANGEBYRANK', ${indexKey}, 0, -1 - tonumber(${maxArg})) end
  local r = tonumber(redis.call('HGET', ${readsKey}, ${senderArg}) or '0')
  if seq > r then redis.call('HSET', ${readsKey}, ${senderArg}, s) end
end
`;

/**
 * Reads the stored message with a seq from the log (KEYS[2]), or '' when it was trimmed (the
 * inbox applies the operations' overlay on top).
 */
const READ_STORED = `
local function readStored(seq)
  local id = seq .. '-0'
  local e = redis.call('XRANGE', KEYS[2], id, id)
  if e[1] then return e[1][2][2] end
  return ''
end
local function countUnread(readSeq, at)
  if at <= readSeq then return 0 end
  -- Exact up to the newest UNREAD_INDEX_MAX, as in the memory engine (the index may hold a few more).
  local n = redis.call('ZCOUNT', KEYS[5], '(' .. string.format('%d', readSeq), string.format('%d', at))
  return math.min(n, ${UNREAD_INDEX_MAX})
end
`;

/**
 * inbox (one conversation). KEYS: meta, log, reads, idempotency index, countable index, state
 * (see `operation-scripts.ts`). ARGV:
 * 1 epoch candidate, 2 userId. Returns {epoch, head, readSeq, unread, last message JSON or '',
 * then (userId, read seq) pairs of every member}.
 */
const INBOX = (
  ensureEpoch: EnsureEpoch,
): string => `${ensureEpoch('ARGV[1]')}${COUNTABLE_EPOCH(5)}${READ_STORED}${OVERLAYS}
local readSeq = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
local last = ''
local top = redis.call('ZREVRANGEBYSCORE', KEYS[5], string.format('%d', head), '-inf', 'LIMIT', 0, 1)
if top[1] then last = readStored(top[1]) end
-- Its current state (edited, deleted, reactions), if an operation changed it.
if last ~= '' then last = overlays(KEYS[6], epoch, top[1], top[1])[tonumber(top[1])] or last end
local out = {epoch, head, readSeq, countUnread(readSeq, head), last}
local reads = redis.call('HGETALL', KEYS[3])
for i = 1, #reads do out[#out + 1] = reads[i] end
return out
`;

/**
 * unread. KEYS: meta, log, reads, idempotency index, countable index. ARGV: 1 epoch candidate,
 * 2 userId, 3 up to ('' = the head). Returns {readSeq, count, at}.
 */
const UNREAD = (
  ensureEpoch: EnsureEpoch,
): string => `${ensureEpoch('ARGV[1]')}${COUNTABLE_EPOCH(5)}${READ_STORED}
local readSeq = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
local at = head
if ARGV[3] ~= '' then at = math.max(0, math.min(head, tonumber(ARGV[3]))) end
return {readSeq, countUnread(readSeq, at), at}
`;

type Reply = Promise<unknown>;

/** The inbox commands, as ioredis adds them to a connection (and its pipelines). */
export interface InboxCommands {
  parleyInbox(...args: string[]): Reply;
  parleyUnread(...args: string[]): Reply;
}

/** `ENSURE_EPOCH` of `scripts.ts`, passed in (that module imports this one). */
type EnsureEpoch = (candidate: string) => string;

/** Name, script and number of keys of each inbox command. */
export const inboxCommands = (
  ensureEpoch: EnsureEpoch,
): [keyof InboxCommands, string, number][] => [
  ['parleyInbox', INBOX(ensureEpoch), 6],
  ['parleyUnread', UNREAD(ensureEpoch), 5],
];
