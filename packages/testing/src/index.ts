/**
 * @packageDocumentation
 * Test Parley chat screens without a server: the real hub core in-process behind an msw
 * WebSocket handler (`ws.link`), clients wired to it, and helpers to wait for frames and drive
 * the clock. See README.md.
 */

export type { FrameMatcher, RecordedFrame } from './frames.js';
export {
  createTestHub,
  DEFAULT_TEST_URL,
  type TestHub,
  type TestHubOptions,
} from './kit.js';
export { listenerCount, listenerCounts } from './listeners.js';
export {
  ABNORMAL_CLOSURE,
  type BindHooks,
  bindMswConnection,
  type MockConnection,
} from './transport.js';
export { fakeClock, flush, type WaitOptions, waitFor, waitUntil } from './wait.js';
export { ensureWebSocketGlobal, MockableWebSocket } from './websocket.js';
