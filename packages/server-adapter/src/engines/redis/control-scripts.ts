/**
 * The Redis engine's control-plane scripts (issue 13): send leases and membership removal records,
 * each one atomic script. Marks come from one counter (`P ctl-mark`, `INCR`), so "removed after
 * the mark a session start read" is decided the same way on every process.
 *
 * The mark is taken by its own `INCR` BEFORE the removal or kick record is written (the counter
 * is one key for the whole Redis Cluster, the records live in the conversation's or the user's
 * slot, and no script touches two slots). That keeps the semantics: a session start that read a
 * mark below the removal's is protected by the record; one that read the new mark or a later one
 * started after `hub.leave` / `hub.disconnectUser` had begun, so its `conversationsOf` already
 * reflects the change (and a kick recorded before a session started does not apply to it).
 *
 * Keys (P = keyPrefix):
 * - `P ctl-mark`          integer: the control mark, only grows.
 * - `P removed:<conv>`    sorted set userId -> mark of the removal; PX the control ttl, at most
 *                         `maxRemovals` entries (the oldest marks are dropped first).
 * - `P kick:<user>`       string `<mark>\n<code>\n<reason>`, PX the control ttl (plain `SET`).
 * - `P lease:…`           string, PX: a send inside the app's `persist` (see the engine).
 * - `P mver:<conv>`       integer: the conversation's membership version, no expiry.
 */

import { READ_RECORD } from './record-lua.js';

/**
 * claimSend. KEYS: meta, idempotency record, lease. ARGV: 1 now, 2 lease ms. Returns {1, message}
 * for a stored message, {0} when the lease was taken, {2, ms left} while another send holds it.
 */
const CLAIM_SEND = `${READ_RECORD}local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch then
  local stored = readRecord(redis.call('GET', KEYS[2]), epoch, tonumber(ARGV[1]))
  if stored then return {1, stored} end
end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return {0} end
return {2, redis.call('PTTL', KEYS[3])}
`;

/**
 * The conversation's membership version (`MembershipVersion`): one INCR per change, in the same
 * script as the change. A missing counter (never set, or lost to FLUSHALL or a restart without
 * persistence) starts from the server clock in microseconds, above any version handed out before
 * unless a conversation saw more than a million changes per second of its life.
 */
const BUMP_VERSION = `local function bumpVersion(k)
  if redis.call('EXISTS', k) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', k, t[1] .. string.format('%06d', tonumber(t[2])))
  end
  return redis.call('INCR', k)
end
`;

/** addMembers. KEYS: members, removed, version. ARGV: user ids. Returns the version. */
const ADD_MEMBERS = `${BUMP_VERSION}
redis.call('SADD', KEYS[1], unpack(ARGV))
redis.call('ZREM', KEYS[2], unpack(ARGV))
return bumpVersion(KEYS[3])
`;

/**
 * removeMembers. KEYS: members, removed, version. ARGV: 1 mark (taken by the caller), 2 control
 * ttl ms, 3 most removal records, 4.. user ids. Returns the version.
 */
const REMOVE_MEMBERS = `${BUMP_VERSION}
local m = tonumber(ARGV[1])
for i = 4, #ARGV do
  redis.call('SREM', KEYS[1], ARGV[i])
  redis.call('ZADD', KEYS[2], m, ARGV[i])
end
local n = redis.call('ZCARD', KEYS[2])
local cap = tonumber(ARGV[3])
if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return bumpVersion(KEYS[3])
`;

/**
 * restoreMember. KEYS: members, removed, version. ARGV: 1 user id, 2 since. Returns {1 when a
 * member else 0, the membership version as a string ('0' before any change)}.
 */
const RESTORE_MEMBER = `
local v = redis.call('GET', KEYS[3]) or '0'
local r = redis.call('ZSCORE', KEYS[2], ARGV[1])
if r and tonumber(r) > tonumber(ARGV[2]) then return {0, v} end
redis.call('SADD', KEYS[1], ARGV[1])
return {1, v}
`;

type Reply = Promise<unknown>;

/** The control commands, as ioredis adds them to a connection. */
export interface ControlCommands {
  parleyClaimSend(...args: string[]): Reply;
  parleyAddMembers(...args: string[]): Reply;
  parleyRemoveMembers(...args: string[]): Reply;
  parleyRestoreMember(...args: string[]): Reply;
}

/** Name, script and number of keys of each control command. */
export const CONTROL_COMMANDS: [keyof ControlCommands, string, number][] = [
  ['parleyClaimSend', CLAIM_SEND, 3],
  ['parleyAddMembers', ADD_MEMBERS, 3],
  ['parleyRemoveMembers', REMOVE_MEMBERS, 3],
  ['parleyRestoreMember', RESTORE_MEMBER, 3],
];
