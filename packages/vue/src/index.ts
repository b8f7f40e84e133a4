/**
 * @packageDocumentation
 * Vue bindings for Parley: the `createParley` plugin and composables returning refs. See README.md.
 */

export {
  type UseConversationReturn,
  type UseParleyEventOptions,
  useConnectionState,
  useConversation,
  useInbox,
  useParleyEvent,
  usePresence,
} from './composables.js';
export { createParley, type ParleyPlugin, parleyKey, useParley } from './plugin.js';
export type { EventOf, Register, RegisteredEvents } from './types.js';
