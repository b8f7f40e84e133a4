/**
 * @packageDocumentation
 * React bindings for Parley: `<ParleyProvider>` and hooks built on `useSyncExternalStore`
 * (stable snapshots, SSR-safe, StrictMode-safe). See README.md.
 */

export {
  ParleyProvider,
  type ParleyProviderProps,
  useParleyClient,
  useParleyClientOrNull,
} from './context.js';
export {
  type UseConversationResult,
  type UseParleyEventOptions,
  useConnectionState,
  useConversation,
  useInbox,
  useParleyEvent,
  usePresence,
} from './hooks.js';
export { type ConversationSnapshot, EMPTY_CONVERSATION } from './stores.js';
export type { EventOf, Register, RegisteredEvents } from './types.js';
