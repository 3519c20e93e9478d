/**
 * The token-bucket step as one Redis Lua script: read, refill, take, write
 * and expire in a single atomic round trip. Time is Redis's own `TIME`, so
 * the gateways' clocks never matter (Redis 5+ replicates the script's
 * effects, which makes `TIME` before a write allowed; 7.0 does so by default).
 *
 * KEYS[1] the bucket; ARGV[1] capacity; ARGV[2] tokens per second.
 * Returns `{ allowed (0|1), tokens left (string), retry after ms }`.
 * Numbers are written with `%.17g` / `%.0f`: Lua's `tostring` keeps only 14
 * digits, which would round a microsecond timestamp.
 * @internal
 */
export const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate / 1000000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil((capacity - tokens) / rate * 1000) + 1000))
return { allowed, string.format('%.17g', tokens), retry }
`;
