/**
 * The Lua scripts the Redis budgets run. A script runs whole before any other command (Redis is one thread
 * for scripts), so a check and its count are one step: replicas asking at once cannot both spend the last
 * unit. Time comes from Redis (`TIME`), so replicas whose clocks differ still share one bucket.
 */

/** KEYS[1] the address's bucket; ARGV burst, units per ms. Returns -1 when allowed, else seconds to wait. */
export const CHARGE_BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if saved[1] then tokens = math.min(burst, tonumber(saved[1]) + (now - tonumber(saved[2])) * perMs) end
local allowed = tokens >= 1
if allowed then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
if allowed then return -1 end
return math.max(1, math.ceil((1 - tokens) / perMs / 1000))
`

/**
 * KEYS[1] the user's count, KEYS[2] the address's; ARGV max per user, max per address, window ms, and 1 to
 * count an attempt (0 only checks). A count starts its window at its first failure. Returns -1 when neither is
 * locked out (and the attempt was counted), else the seconds until the window of the one locked out ends.
 */
export const LOGIN_ATTEMPT = `
local maxes = { tonumber(ARGV[1]), tonumber(ARGV[2]) }
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= maxes[i] then
    return math.max(1, math.ceil(redis.call('PTTL', KEYS[i]) / 1000))
  end
end
if ARGV[4] == '1' then
  for i = 1, 2 do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  end
end
return -1
`

/** KEYS[1] the user's count, KEYS[2] the address's: each loses one unit, and goes at zero. */
export const LOGIN_TAKE_BACK = `
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
return 0
`
