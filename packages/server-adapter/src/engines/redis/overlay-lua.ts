/** Lua shared by the scripts that read stored messages (no imports: a leaf module). */

/**
 * `overlays(key, epoch, lo, hi)`, over `P state:<conv>` (see `operation-scripts.ts`): seq ->
 * current message JSON of the held messages seq lo..hi that an operation changed, in the current
 * epoch. Every script that returns stored messages reads them through it.
 */
export const OVERLAYS = `
local function overlays(key, epoch, lo, hi)
  local out = {}
  local r = redis.call('ZRANGEBYSCORE', key, lo, hi, 'WITHSCORES')
  local p = epoch .. '\\n'
  for i = 1, #r, 2 do
    if string.sub(r[i], 1, #p) == p then out[tonumber(r[i + 1])] = string.sub(r[i], #p + 1) end
  end
  return out
end
`;
