/**
 * @packageDocumentation
 * The Parley hub as a standalone service for backends in any language: JWT or callback auth,
 * membership/persistence/read receipts by HTTP callbacks, an HTTP API, health endpoints and a
 * graceful shutdown. The CLI is `parley-server`; `startServer` runs the same thing in-process.
 */
export { tokenOf } from './auth.js';
export {
  AppContractError,
  AppUnavailableError,
  type CallbackSettings,
  type CallbackStats,
  type Caller,
  type CallerOptions,
  createCaller,
} from './callbacks.js';
export {
  CLAIM_TTL_MS,
  type ClaimStore,
  createClaimStore,
  MAX_MEMORY_CLAIMS,
  memoryClaimStore,
  redisClaimStore,
} from './claims.js';
export {
  type CliArgs,
  ConfigError,
  ENV_VARS,
  FLAGS,
  loadConfig,
  parseArgs,
  parseConfig,
  type ServerConfig,
  type ServerConfigInput,
  ServerConfigSchema,
} from './config.js';
export { createEngine, EngineUnavailableError, REDIS_ENGINE_MODULE } from './engine.js';
export { idempotencyKey, TtlCache } from './hooks.js';
export {
  createJsonLogger,
  type JsonLogger,
  LEVELS,
  type LogLevel,
  type LogSink,
} from './logger.js';
export {
  type CallbackResult,
  createMetrics,
  type MetricsSources,
  type ServerMetrics,
} from './metrics.js';
export { type ParleyServer, type StartOptions, startServer } from './server.js';
