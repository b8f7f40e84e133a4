/**
 * @packageDocumentation
 * Parley hub: a transport-agnostic core (`createHub`), the in-memory engine, and the engine
 * contract. Adapters live at `@parley/server-adapter/node`, `/fastify`, `/bun`, `/deno` and
 * `/crossws`.
 */

export { createMemoryEngine, type MemoryEngineOptions } from './engines/memory/index.js';
export { applyToTarget, canOperateOn } from './engines/operations.js';
export type * from './engines/types.js';
export {
  ForbiddenError,
  HubClosedError,
  HubError,
  HubUsageError,
  MessageRejectedError,
  UnavailableError,
} from './errors.js';
export type { ConnectionHandlers, HubSocket } from './hub/connection.js';
export {
  createHub,
  type Hub,
  type HubEvent,
  type HubStats,
  type PublishInput,
  type PublishResult,
  type UpgradeRejection,
} from './hub/hub.js';
export type { InboxRow } from './hub/inbox.js';
export type { ServerOperationInput } from './hub/operations.js';
export type {
  AuthInput,
  AuthResult,
  BackpressureOptions,
  ConversationMetaContext,
  HeartbeatOptions,
  HubOptions,
  LimitOptions,
  MetricEvent,
  OfflineRecipients,
  OperationRequest,
  PersistResult,
  PresenceOptions,
  ReadReceipt,
  RequestInfo,
  ShutdownOptions,
  StoredMessage,
} from './hub/options.js';
export type { HistoryPage, HistoryQuery } from './hub/reads.js';
export { type Logger, silentLogger } from './logger.js';
