/** Typing the bindings with the app's custom events, once, through declaration merging. */
import type { EventSchemas, NoEvents } from '@parley/protocol/core';

export type { EventOf } from '@parley/client';

/**
 * Register the app's event definitions once and every hook is typed by them:
 *
 * ```ts
 * declare module '@parley/react' {
 *   interface Register { events: typeof events } // events = defineEvents({...})
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the app through declaration merging.
export interface Register {}

/** The app's registered events, or none. */
export type RegisteredEvents = Register extends { events: infer E extends EventSchemas }
  ? E
  : NoEvents;
