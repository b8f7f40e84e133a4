/** Lua shared by the scripts that store messages (no imports: a leaf module). */

/**
 * An idempotency record is `<epoch>\n<expiresAt>\n<message JSON>`. It counts only for the epoch it
 * was written in and until `expiresAt` by the engine's clock (PX removes it in real time too).
 */
export const READ_RECORD = `
local function readRecord(rec, epoch, now)
  if not rec then return nil end
  local a = string.find(rec, '\\n', 1, true)
  if not a then return nil end
  local b = string.find(rec, '\\n', a + 1, true)
  if not b or string.sub(rec, 1, a - 1) ~= epoch then return nil end
  if tonumber(string.sub(rec, a + 1, b - 1)) <= now then return nil end
  return string.sub(rec, b + 1)
end
`;

/**
 * Allocates the next seq of the conversation (KEYS[1] meta) and appends the message to the log
 * (KEYS[2]): ARGV[1] the message JSON without `seq` (`seq` is spliced in as its last field),
 * ARGV[2] createdAt, ARGV[4] the log's MAXLEN, ARGV[10] the origin stored with it ('' = none).
 * Leaves `seq`, `s` (its decimal text) and `msg` (the stored JSON) in scope.
 */
export const LOG_APPEND = `
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local s = string.format('%d', seq)
local msg = string.sub(ARGV[1], 1, -2) .. ',"seq":' .. s .. '}'
if ARGV[10] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], s .. '-0', 'm', msg, 't', ARGV[2], 'o', ARGV[10])
else
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], s .. '-0', 'm', msg, 't', ARGV[2])
end
`;
