/**
 * Lua for operations on stored messages (edit, delete, reaction) in the Redis engine.
 *
 * A stream entry cannot be rewritten, so a message's current state lives beside the log:
 * `P state:<conv>`, a sorted set seq -> `<epoch>\n<message JSON>` holding the current state of
 * every held message an operation changed. Readers (`range`, `page`, `message`) use it instead of
 * the log entry (`OVERLAYS` in `overlay-lua.ts`); an entry of another epoch (a history that was lost) never
 * counts. It holds at most one entry per held message: each operation drops the entries of
 * messages the log no longer holds, and it expires with the log.
 *
 * The new state is computed in TypeScript (`applyToTarget`), never in Lua (cjson would re-order
 * keys and round large numbers); the script stores it only if the target is still exactly what
 * was read (compare and set), else the engine reads again and retries.
 */
import type { Cluster, Redis } from 'ioredis';
import { OVERLAYS } from './overlay-lua.js';
import { LOG_APPEND, READ_RECORD } from './record-lua.js';
import { ENSURE_EPOCH, forCluster, STORE_IDEMPOTENCY, TRIM_BY_AGE } from './scripts.js';

/**
 * message. KEYS: meta, log, state. ARGV: 1 seq, 2 age cutoff ('' = none). Returns {epoch, current
 * message JSON} when the log holds the seq, else nil.
 */
const MESSAGE = `${OVERLAYS}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return nil end
local id = ARGV[1] .. '-0'
local e = redis.call('XRANGE', KEYS[2], id, id)
if not e[1] then return nil end
if ARGV[2] ~= '' and tonumber(e[1][2][4]) < tonumber(ARGV[2]) then return nil end
return {epoch, overlays(KEYS[3], epoch, ARGV[1], ARGV[1])[tonumber(ARGV[1])] or e[1][2][2]}
`;

/**
 * applyOperation. KEYS: meta, log, reads, idempotency index, idempotency record, send lease,
 * state. ARGV: 1 operation draft JSON, 2 createdAt, 3 now, 4 maxMessages, 5 maxAgeMs (0 = off),
 * 6 idempotency ttl, 7 epoch candidate, 8 channel, 9 origin as JSON ('' = none), 10 origin as is,
 * 11 idempotency records kept per conversation (0 = no limit), 12 target seq, 13 the epoch the
 * target was read in, 14 the target's JSON as read, 15 the target's new JSON without `version`.
 * Returns {0, epoch, operation JSON, target JSON} (stored), {1, epoch, stored JSON} (duplicate),
 * {2} (the target changed since it was read: read again) or {3} (the log no longer holds it).
 */
const APPLY = `${ENSURE_EPOCH('ARGV[7]')}${READ_RECORD}${OVERLAYS}
local now = tonumber(ARGV[3])
local stored = readRecord(redis.call('GET', KEYS[5]), epoch, now)
if stored then
  redis.call('DEL', KEYS[6])
  return {1, epoch, stored}
end
if epoch ~= ARGV[13] then return {2} end
local ts = ARGV[12]
local tid = ts .. '-0'
local te = redis.call('XRANGE', KEYS[2], tid, tid)
if not te[1] then return {3} end
local current = overlays(KEYS[7], epoch, ts, ts)[tonumber(ts)] or te[1][2][2]
if current ~= ARGV[14] then return {2} end
${LOG_APPEND}local target = string.sub(ARGV[15], 1, -2) .. ',"version":' .. s .. '}'
redis.call('ZREMRANGEBYSCORE', KEYS[7], ts, ts)
redis.call('ZADD', KEYS[7], ts, epoch .. '\\n' .. target)
${TRIM_BY_AGE(['KEYS[7]'])}-- The state of messages the log no longer holds is dropped: at most one entry per held message.
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if first[1] then
  local firstSeq = tonumber(string.sub(first[1][1], 1, string.find(first[1][1], '-', 1, true) - 1))
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. string.format('%d', firstSeq))
end
${STORE_IDEMPOTENCY}redis.call('DEL', KEYS[6])
local origin = ''
if ARGV[9] ~= '' then origin = '"origin":' .. ARGV[9] .. ',' end
redis.call('PUBLISH', ARGV[8], '{"kind":"message",' .. origin .. '"epoch":"' .. epoch .. '","message":' .. msg .. '}')
return {0, epoch, msg, target}
`;

type Reply = Promise<unknown>;

/** The operation commands, as ioredis adds them to a connection. */
export interface OperationCommands {
  parleyMessage(...args: string[]): Reply;
  parleyApplyOperation(...args: string[]): Reply;
}

/** Registers the operation commands on a connection (idempotent, like `defineParleyCommands`). */
export function defineOperationCommands<R extends Redis | Cluster>(
  redis: R,
  cluster = false,
): R & OperationCommands {
  // On a cluster: the shard channel (`SPUBLISH`) and the replication-id fence, as for `append`.
  const lua = (script: string): string => (cluster ? forCluster(script) : script);
  redis.defineCommand('parleyMessage', { lua: lua(MESSAGE), numberOfKeys: 3 });
  redis.defineCommand('parleyApplyOperation', { lua: lua(APPLY), numberOfKeys: 7 });
  return redis as R & OperationCommands;
}
