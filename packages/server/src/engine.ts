/**
 * The engine named in the configuration: the in-memory engine, or the Redis engine loaded with a
 * dynamic import (so `ioredis` and the Redis engine are only needed when selected).
 */
import { createMemoryEngine, type Engine, type Logger } from '@parley/server-adapter';
import type { ServerConfig } from './config.js';

/** The engine cannot be created (Redis selected but not installed / not available). */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
  readonly code = 'engine_unavailable';
}

interface RedisModule {
  createRedisEngine(options: { redis: string; keyPrefix?: string; logger?: Logger }): Engine;
}

/** The module the Redis engine is exported from (a variable, so bundlers leave it alone). */
export const REDIS_ENGINE_MODULE = '@parley/server-adapter/redis';

/** Creates the configured engine. `load` is injectable for tests. */
export async function createEngine(
  config: ServerConfig,
  logger: Logger,
  load: (specifier: string) => Promise<unknown> = (s) => import(s),
): Promise<Engine> {
  const e = config.engine;
  if (e.type === 'memory') return createMemoryEngine();
  let mod: Partial<RedisModule>;
  try {
    mod = (await load(REDIS_ENGINE_MODULE)) as Partial<RedisModule>;
  } catch (err) {
    throw new EngineUnavailableError(
      `engine "redis" needs ${REDIS_ENGINE_MODULE} (a @parley/server-adapter version with the ` +
        `Redis engine) and the ioredis package: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (typeof mod.createRedisEngine !== 'function') {
    throw new EngineUnavailableError(`${REDIS_ENGINE_MODULE} does not export createRedisEngine`);
  }
  return mod.createRedisEngine({
    redis: e.url,
    ...(e.keyPrefix === undefined ? {} : { keyPrefix: e.keyPrefix }),
    logger,
  });
}
