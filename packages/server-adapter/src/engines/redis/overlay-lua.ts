/** Lua shared by the scripts that read stored messages (no imports: a leaf module). */

/**
 * `overlays(key, epoch, lo, hi)`, over `P state:<conv>` (see `operation-scripts.ts`): seq ->
 * current message JSON of the held messages seq lo..hi that an operation changed, in the current
 * history. Every script that returns stored messages reads them through it. An entry counts when
 * its epoch has the current epoch's first 12 characters (its lineage): epochs are 12 characters,
 * and only a Redis Cluster failover (`FENCE` in `scripts.ts`) makes a 16-character one that keeps
 * the history, and its overlays, of the epoch it replaces.
 */
export const OVERLAYS = `
local function overlays(key, epoch, lo, hi)
  local out = {}
  local r = redis.call('ZRANGEBYSCORE', key, lo, hi, 'WITHSCORES')
  local lineage = string.sub(epoch, 1, 12)
  for i = 1, #r, 2 do
    local nl = string.find(r[i], '\\n', 1, true)
    if nl and string.sub(r[i], 1, math.min(nl - 1, 12)) == lineage then
      out[tonumber(r[i + 1])] = string.sub(r[i], nl + 1)
    end
  end
  return out
end
`;
