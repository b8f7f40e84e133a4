/**
 * The Lua scripts of the Redis engine. Every multi-step operation of the engine contract runs as
 * ONE script, so it is atomic with respect to every other client of the same Redis (Redis runs a
 * script to completion before serving anything else). They are registered with ioredis'
 * `defineCommand`, which sends `EVALSHA` and falls back to `EVAL` after `NOSCRIPT` (a restarted or
 * flushed script cache).
 *
 * Messages are never decoded in Lua: cjson would turn large integers into floats and re-order
 * keys. The message JSON is built by string concatenation around the seq instead.
 *
 * Keys (P = keyPrefix; ids always last so that no id can make two keys collide):
 * - `P meta:<conv>`     hash {epoch, seq}: the history's identity and its head. Never expires.
 * - `P log:<conv>`      stream, entry id `<seq>-0`, fields m (message JSON), t (createdAt).
 * - `P idem:<n>:<conv>:<n>:<sender>:<clientMsgId>`  string `<epoch>\n<expiresAt>\n<message>`, PX ttl.
 * - `P idem-index:<conv>` sorted set record key -> seq: bounds the records per conversation.
 * - `P reads:<conv>`    hash userId -> read seq.
 * - `P members:<conv>`  set of user ids.
 * - `P state:<conv>`    sorted set seq -> `<epoch>\n<message JSON>`: current state of messages an
 *   operation changed (see `operation-scripts.ts`).
 * - `P conns:<user>`    sorted set connectionId -> expiry (ms).
 * - `P presence:<user>` hash {grace: until (ms), seen: lastSeenAt (ms)}.
 * - `P presence-deadlines` sorted set userId -> when the user may go offline (ms); one per
 *   presence bucket on Redis Cluster.
 * - `P lease:<n>:<conv>:<n>:<sender>:<clientMsgId>` string, PX: a send inside the app's `persist`.
 * - `P ctl-mark`, `P removed:<conv>`, `P kick:<user>`: control records (see `control-scripts.ts`).
 *
 * Redis Cluster (see `keys.ts`): the same scripts, with every key they touch in KEYS and in one
 * slot (hash tags), and two changes made by {@link defineParleyCommands}: `PUBLISH` becomes
 * `SPUBLISH` (the conversation's shard channel is in the conversation's slot), and the epoch
 * check is fenced by the primary's replication id (see `FENCE`).
 */
import type { Cluster, Redis } from 'ioredis';
import { CONTROL_COMMANDS, type ControlCommands } from './control-scripts.js';
import {
  COUNTABLE_EPOCH,
  INDEX_COUNTABLE,
  type InboxCommands,
  inboxCommands,
} from './inbox-scripts.js';
import { OVERLAYS } from './overlay-lua.js';
import { LOG_APPEND, READ_RECORD } from './record-lua.js';

/**
 * Creates the epoch of a conversation seen for the first time (or again after its data was lost)
 * and clears anything seq-based left from an older history, so seqs are never reused under one
 * epoch. KEYS[1] meta, KEYS[2] log, KEYS[3] reads, KEYS[4] idempotency index; `candidate` is a
 * fresh random id.
 */
export const ENSURE_EPOCH = (candidate: string): string => `
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'cidx')
local epoch = meta[1]
local head = tonumber(meta[2] or '0')
-- The epoch the countable index belongs to (COUNTABLE_EPOCH of inbox-scripts.ts), read here too.
local cidx = meta[3]
if not epoch then
  epoch = ${candidate}
  head = 0
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
--parley:fence(${candidate})
`;

/**
 * Redis Cluster only, in place of the `--parley:fence` line. Replication is asynchronous: when a
 * primary dies, its promoted replica may lack the last writes — messages already acknowledged
 * and delivered — and would hand out their seqs again under the same epoch. A promoted replica
 * takes a new replication id, so the meta hash records the id of the primary that wrote it
 * (`node`); a script that finds another id rotates the epoch, keeping seq and history (a prefix
 * of what clients saw): clients get `reset`, never a reused seq.
 *
 * The new epoch keeps the first 12 characters of the old one (the history's lineage) and adds 4
 * new ones: operation overlays (`overlay-lua.ts`) compare the lineage, so an edited or deleted
 * message keeps its state across the rotation. Idempotency records and the countable index
 * compare the whole epoch and start over, as after any reset.
 */
const FENCE = (candidate: string): string => `
local node = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
local owner = redis.call('HGET', KEYS[1], 'node')
if owner ~= node then
  if owner and epoch ~= ${candidate} then
    local fresh = string.sub(epoch, 1, 12) .. string.sub(${candidate}, 1, 4)
    if fresh == epoch then fresh = string.sub(epoch, 1, 12) .. string.sub(${candidate}, 5, 8) end
    epoch = fresh
    redis.call('HSET', KEYS[1], 'epoch', epoch)
  end
  redis.call('HSET', KEYS[1], 'node', node)
end
`;

/**
 * Trims the log (KEYS[2]) by age after an append: ARGV[5] max age in ms (0 = off), `now` and the
 * new `seq` in scope.
 * Bounded work per call (reads hide older entries anyway, and the key expires when idle).
 * `alsoExpire`: more keys that live as long as the log.
 */
export const TRIM_BY_AGE = (alsoExpire: string[] = []): string => `
local maxAge = tonumber(ARGV[5])
if maxAge > 0 then
  local cutoff = now - maxAge
  -- Checked every 16th seq: reads hide older entries anyway; this only frees their memory.
  local oldest = {}
  if seq % 16 == 0 then oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1) end
  if oldest[1] and tonumber(oldest[1][2][4]) < cutoff then
    local batch = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 100)
    local last = nil
    for _, e in ipairs(batch) do
      if tonumber(e[2][4]) >= cutoff then break end
      last = e[1]
    end
    if last then
      local lastSeq = tonumber(string.sub(last, 1, string.find(last, '-', 1, true) - 1))
      redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d', lastSeq + 1) .. '-0')
    end
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
${alsoExpire.map((k) => `  redis.call('PEXPIRE', ${k}, ARGV[5])\n`).join('')}end
`;

/**
 * Writes the idempotency record of a stored message (KEYS[5], `msg` under `epoch`, PX ARGV[6])
 * and bounds the records per conversation through the index (KEYS[4], record key by seq; ARGV[11]
 * records kept, 0 = no limit): the oldest are deleted. `now`, `seq`, `epoch`, `msg` in scope.
 */
export const STORE_IDEMPOTENCY = `
redis.call('SET', KEYS[5], epoch .. '\\n' .. string.format('%d', now + tonumber(ARGV[6])) .. '\\n' .. msg, 'PX', ARGV[6])
-- The index (record key by seq) bounds the records per conversation: the oldest are deleted.
local maxEntries = tonumber(ARGV[11])
if maxEntries > 0 then
  redis.call('ZADD', KEYS[4], seq, KEYS[5])
  -- Scores are seqs (>= 1): nothing can be below the cut until seq passes maxEntries.
  if seq > maxEntries then
    local cut = '(' .. string.format('%d', seq - maxEntries + 1)
    local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', cut)
    for i = 1, #old, 500 do
      redis.call('DEL', unpack(old, i, math.min(i + 499, #old)))
    end
    if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', cut) end
  end
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
end
`;

/**
 * append. KEYS: meta, log, reads, idempotency index, idempotency record, send lease, countable
 * index. ARGV: 1 draft JSON,
 * 2 createdAt, 3 now, 4 maxMessages, 5 maxAgeMs (0 = off), 6 idempotency ttl, 7 epoch candidate,
 * 8 channel, 9 origin as JSON ('' = none), 10 origin as is ('' = none; stored so that a gap fill
 * can still route the sender's ack), 11 idempotency records kept per conversation (0 = no limit),
 * 12 '1' for a countable message, 13 sender id, 14 countable seqs kept (see `inbox-scripts.ts`),
 * 15 '1' when the send may hold a lease to drop ('' = it took none).
 * Returns {1, epoch, stored message JSON} for a duplicate, else {0, epoch, seq}: the new message
 * is the draft with its seq, which the engine builds without the JSON coming back (issue 15).
 */
const APPEND = `${ENSURE_EPOCH('ARGV[7]')}${READ_RECORD}${COUNTABLE_EPOCH(7)}
if ARGV[15] == '1' then redis.call('DEL', KEYS[6]) end
local now = tonumber(ARGV[3])
local stored = readRecord(redis.call('GET', KEYS[5]), epoch, now)
if stored then return {1, epoch, stored} end
${LOG_APPEND}${TRIM_BY_AGE()}${STORE_IDEMPOTENCY}${INDEX_COUNTABLE('KEYS[7]', 'KEYS[3]', 'ARGV[12]', 'ARGV[13]', 'ARGV[14]')}
local origin = ''
if ARGV[9] ~= '' then origin = '"origin":' .. ARGV[9] .. ',' end
redis.call('PUBLISH', ARGV[8], '{"kind":"message",' .. origin .. '"epoch":"' .. epoch .. '","message":' .. msg .. '}')
return {0, epoch, seq}
`;

/** head. KEYS: meta, log, reads, idempotency index. ARGV: 1 epoch candidate. Returns {epoch, seq}. */
const HEAD = `${ENSURE_EPOCH('ARGV[1]')}
return {epoch, head}
`;

/**
 * range. KEYS: meta, log, reads, idempotency index, state. ARGV: 1 epoch candidate, 2 after, 3 limit, 4 age cutoff ('' =
 * none), 5 '1' to return (message JSON, origin or '') pairs, 6 most bytes of message JSON ('' =
 * no limit). Returns {epoch, seq, complete 0|1, message JSON...}: all of after+1..seq, or nothing.
 */
const RANGE = `${ENSURE_EPOCH('ARGV[1]')}${OVERLAYS}
local after = tonumber(ARGV[2])
if after >= head then return {epoch, head, 1} end
local count = head - after
if count > tonumber(ARGV[3]) then return {epoch, head, 0} end
local first = string.format('%d', after + 1) .. '-0'
local entries = redis.call('XRANGE', KEYS[2], first, '+', 'COUNT', count)
if #entries ~= count or entries[1][1] ~= first then return {epoch, head, 0} end
if ARGV[4] ~= '' and tonumber(entries[1][2][4]) < tonumber(ARGV[4]) then return {epoch, head, 0} end
local ov = overlays(KEYS[5], epoch, after + 1, head)
if ARGV[6] ~= '' then
  local max = tonumber(ARGV[6])
  local bytes = 0
  for i, e in ipairs(entries) do
    bytes = bytes + #(ov[after + i] or e[2][2])
    if bytes > max then return {epoch, head, 0} end
  end
end
local out = {epoch, head, 1}
for i, e in ipairs(entries) do
  out[#out + 1] = ov[after + i] or e[2][2]
  if ARGV[5] == '1' then out[#out + 1] = e[2][6] or '' end
end
return out
`;

/**
 * page. KEYS: log, meta, state. ARGV: 1 before ('' = none), 2 limit, 3 age cutoff ('' = none).
 * Returns {hasMore 0|1, message JSON... newest first}.
 */
const PAGE = `${OVERLAYS}
local hi = '+'
if ARGV[1] ~= '' then
  local before = tonumber(ARGV[1])
  if before <= 1 then return {0} end
  hi = string.format('%d', before - 1) .. '-0'
end
local limit = tonumber(ARGV[2])
local cutoff = nil
if ARGV[3] ~= '' then cutoff = tonumber(ARGV[3]) end
local entries = redis.call('XREVRANGE', KEYS[1], hi, '-', 'COUNT', limit + 1)
local out = {0}
local n = 0
for _, e in ipairs(entries) do
  if cutoff and tonumber(e[2][4]) < cutoff then break end
  if n == limit then
    out[1] = 1
    break
  end
  n = n + 1
  out[n + 1] = e[2][2]
end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if epoch and n > 0 then
  local hiSeq = tonumber(string.sub(entries[1][1], 1, -3))
  local ov = overlays(KEYS[3], epoch, hiSeq - n + 1, hiSeq)
  for i = 1, n do
    local o = ov[hiSeq - i + 1]
    if o then out[i + 1] = o end
  end
end
return out
`;

/**
 * findByClientId. KEYS: meta, idempotency record. ARGV: 1 now. Returns the message JSON stored in
 * the current epoch and not expired, or nil.
 */
const FIND = `${READ_RECORD}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return nil end
return readRecord(redis.call('GET', KEYS[2]), epoch, tonumber(ARGV[1]))
`;

/** setRead. KEYS: reads. ARGV: 1 userId, 2 seq. Returns {seq, advanced 0|1}. */
const SET_READ = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[2])
if seq <= cur then return {cur, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {seq, 1}
`;

/**
 * Drops a user's expired connections, remembering the latest expiry as lastSeenAt (the crashed
 * process's last heartbeat plus ttl). Returns the number of live connections.
 */
const PRUNE = `
local function prune(ck, pk, now)
  local dead = redis.call('ZREVRANGEBYSCORE', ck, now, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if dead[1] then
    local exp = tonumber(dead[2])
    local seen = tonumber(redis.call('HGET', pk, 'seen') or '0')
    if exp > seen then redis.call('HSET', pk, 'seen', string.format('%d', exp)) end
    redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
  end
  return redis.call('ZCARD', ck)
end
local function maxExpiry(ck)
  local top = redis.call('ZREVRANGE', ck, 0, 0, 'WITHSCORES')
  if top[2] then return tonumber(top[2]) end
  return 0
end
`;

/**
 * presenceConnect. KEYS: conns, presence, deadlines. ARGV: 1 connectionId, 2 now, 3 ttl,
 * 4 userId. Returns {wasOnline 0|1, live connections including this one}.
 */
const PRESENCE_CONNECT = `${PRUNE}
local now = tonumber(ARGV[2])
local live = prune(KEYS[1], KEYS[2], now)
local grace = tonumber(redis.call('HGET', KEYS[2], 'grace') or '0')
local was = 0
if live > 0 or grace > now then was = 1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HDEL', KEYS[2], 'grace')
local deadline = maxExpiry(KEYS[1])
-- The key outlives its newest entry by a minute so that clock skew between processes cannot make
-- Redis drop a connection a process still considers live.
redis.call('PEXPIRE', KEYS[1], math.max(1, deadline - now) + 60000)
redis.call('ZADD', KEYS[3], deadline, ARGV[4])
-- Deadlines nobody swept for an hour (no process runs the sweep) are dropped: bounded memory.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 3600000)
return {was, redis.call('ZCARD', KEYS[1])}
`;

/**
 * presenceRefresh. KEYS: deadlines, conns of each entry. ARGV: 1 now, 2 ttl, then
 * (connectionId, userId) per entry. Only refreshes connections that are still registered.
 */
const PRESENCE_REFRESH = `
local now = tonumber(ARGV[1])
local exp = now + tonumber(ARGV[2])
for i = 2, #KEYS do
  local conn = ARGV[2 * i - 1]
  if redis.call('ZSCORE', KEYS[i], conn) then
    redis.call('ZADD', KEYS[i], exp, conn)
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]) + 60000)
    redis.call('ZADD', KEYS[1], 'GT', exp, ARGV[2 * i])
  end
end
return 0
`;

/**
 * presenceDisconnect. KEYS: conns, presence, deadlines. ARGV: 1 connectionId, 2 now, 3 grace,
 * 4 lastSeen ttl, 5 userId. Returns the number of live connections left.
 */
const PRESENCE_DISCONNECT = `${PRUNE}
local now = tonumber(ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
local live = prune(KEYS[1], KEYS[2], now)
if live == 0 then
  local grace = tonumber(ARGV[3])
  redis.call('HSET', KEYS[2], 'seen', string.format('%d', now))
  if grace > 0 then
    redis.call('HSET', KEYS[2], 'grace', string.format('%d', now + grace))
  else
    redis.call('HDEL', KEYS[2], 'grace')
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], now + grace, ARGV[5])
end
return live
`;

/**
 * presence. KEYS: (conns, presence) per user. ARGV: 1 now. Returns (online 0|1, lastSeenAt or '')
 * per user.
 */
/**
 * connectedUsers. KEYS: the conns key of each user (one presence bucket). ARGV: 1 now. Returns the
 * number of live connections of each, in order: one call per bucket instead of one `ZCOUNT` per
 * user (issue 15).
 */
const CONNECTED = `
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[1], '+inf')
end
return out
`;

const PRESENCE_READ = `${PRUNE}
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 2 do
  local live = prune(KEYS[i], KEYS[i + 1], now)
  local p = redis.call('HMGET', KEYS[i + 1], 'grace', 'seen')
  local online = 0
  if live > 0 or tonumber(p[1] or '0') > now then online = 1 end
  out[#out + 1] = online
  out[#out + 1] = p[2] or ''
end
return out
`;

/**
 * presenceSweep. KEYS: deadlines, then (conns, presence) of each candidate. ARGV: 1 now,
 * 2 lastSeen ttl, then the candidates' user ids (read from the deadlines just before). Claims the
 * candidates whose deadline (checked again here) passed and who are offline (no live connection,
 * grace over): each is removed from the deadlines in the same step, so exactly one caller on one
 * process gets it. Returns (userId, lastSeenAt) pairs.
 */
const PRESENCE_SWEEP = `${PRUNE}
local now = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV do
  local u = ARGV[i]
  local ck = KEYS[2 * i - 4]
  local pk = KEYS[2 * i - 3]
  local due = redis.call('ZSCORE', KEYS[1], u)
  if due and tonumber(due) <= now then
    local live = prune(ck, pk, now)
    local grace = tonumber(redis.call('HGET', pk, 'grace') or '0')
    if live > 0 then
      redis.call('ZADD', KEYS[1], maxExpiry(ck), u)
    elseif grace > now then
      redis.call('ZADD', KEYS[1], grace, u)
    else
      redis.call('ZREM', KEYS[1], u)
      redis.call('HDEL', pk, 'grace')
      redis.call('PEXPIRE', pk, ARGV[2])
      out[#out + 1] = u
      out[#out + 1] = redis.call('HGET', pk, 'seen') or ''
    end
  end
end
return out
`;

type Reply = Promise<unknown>;

/** The engine's commands, as ioredis adds them to a connection (and its pipelines). */
export interface ParleyCommands extends ControlCommands, InboxCommands {
  parleyAppend(...args: string[]): Reply;
  parleyHead(...args: string[]): Reply;
  parleyRange(...args: string[]): Reply;
  parleyPage(...args: string[]): Reply;
  parleyFind(...args: string[]): Reply;
  parleySetRead(...args: string[]): Reply;
  parleyPresenceConnect(...args: string[]): Reply;
  parleyPresenceRefresh(numberOfKeys: number, ...args: string[]): Reply;
  parleyPresenceDisconnect(...args: string[]): Reply;
  parleyPresenceRead(numberOfKeys: number, ...args: string[]): Reply;
  parleyConnected(numberOfKeys: number, ...args: string[]): Reply;
  parleyPresenceSweep(numberOfKeys: number, ...args: string[]): Reply;
}

/** The cluster variant of a script: shard channels and the replication-id fence. */
export const forCluster = (lua: string): string =>
  lua
    .replaceAll("redis.call('PUBLISH',", "redis.call('SPUBLISH',")
    .replace(/--parley:fence\((.*)\)/g, (_, candidate: string) => FENCE(candidate));

/**
 * Registers the scripts on a connection (idempotent: ioredis keeps one definition per name).
 * Scripts with a variable number of keys take it as their first argument.
 */
export function defineParleyCommands(
  redis: Redis | Cluster,
  cluster = false,
): (Redis | Cluster) & ParleyCommands {
  const fixed: [keyof ParleyCommands, string, number][] = [
    ['parleyAppend', APPEND, 7],
    ['parleyHead', HEAD, 4],
    ['parleyRange', RANGE, 5],
    ['parleyPage', PAGE, 3],
    ['parleyFind', FIND, 2],
    ['parleySetRead', SET_READ, 1],
    ['parleyPresenceConnect', PRESENCE_CONNECT, 3],
    ['parleyPresenceDisconnect', PRESENCE_DISCONNECT, 3],
    ...CONTROL_COMMANDS,
    ...inboxCommands(ENSURE_EPOCH),
  ];
  const variable: [keyof ParleyCommands, string][] = [
    ['parleyPresenceRefresh', PRESENCE_REFRESH],
    ['parleyPresenceRead', PRESENCE_READ],
    ['parleyConnected', CONNECTED],
    ['parleyPresenceSweep', PRESENCE_SWEEP],
  ];
  const lua = (script: string): string => (cluster ? forCluster(script) : script);
  for (const [name, script, numberOfKeys] of fixed)
    redis.defineCommand(name, { lua: lua(script), numberOfKeys });
  for (const [name, script] of variable) redis.defineCommand(name, { lua: lua(script) });
  // defineCommand adds the methods at runtime; TypeScript cannot see them without a global module
  // augmentation of ioredis, which would leak into every app that imports this package.
  return redis as (Redis | Cluster) & ParleyCommands;
}
