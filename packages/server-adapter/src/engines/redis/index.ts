/**
 * `@parley/server-adapter/redis`: the Redis engine, for running the hub on many processes.
 * `ioredis` is an optional peer dependency: install it to use this entry point.
 */
export { createRedisEngine, type ExpiredPresence, type RedisEngine } from './engine.js';
export {
  REDIS_ENGINE_DEFAULTS,
  type RedisEngineOptions,
  type RedisEngineStatus,
} from './options.js';
