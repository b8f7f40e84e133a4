/**
 * `createParley(options | client)`: a Vue plugin that provides the client to the composables.
 * Given options, it creates the client with `autoConnect: false`; the first composable that
 * mounts connects it (mount hooks never run during SSR, so the server opens no socket), and
 * `app.unmount()` closes it. A client passed in is the app's: it is never closed here.
 */
import { type ClientOptions, createClient, type ParleyClient } from '@parley/client';
import type { EventSchemas } from '@parley/protocol/core';
import { type App, type InjectionKey, inject } from 'vue';
import type { RegisteredEvents } from './types.js';

/** The plugin returned by {@link createParley}. */
export interface ParleyPlugin<E extends EventSchemas = RegisteredEvents> {
  /** The client the composables use. */
  readonly client: ParleyClient<E>;
  install(app: App): void;
}

/** The injection key (for `provide` in tests or nested apps). */
export const parleyKey: InjectionKey<ParleyClient<EventSchemas>> = Symbol('parley');

/** Creates the plugin: `app.use(createParley({ url, token }))` or `app.use(createParley(client))`. */
export function createParley<E extends EventSchemas = RegisteredEvents>(
  optionsOrClient: ClientOptions<E> | ParleyClient<E>,
): ParleyPlugin<E> {
  // Duck-typed rather than `instanceof`, which fails across duplicated copies of the client.
  const given = typeof (optionsOrClient as ParleyClient<E>).conversation === 'function';
  const client: ParleyClient<E> = given
    ? (optionsOrClient as ParleyClient<E>)
    : createClient<E>({ ...(optionsOrClient as ClientOptions<E>), autoConnect: false });
  return {
    client,
    install(app) {
      app.provide(parleyKey, client as unknown as ParleyClient<EventSchemas>);
      // `app.onUnmount` exists from Vue 3.5; older apps close the client themselves.
      const onUnmount = (app as { onUnmount?: (fn: () => void) => void }).onUnmount;
      if (!given && typeof onUnmount === 'function') onUnmount.call(app, () => client.close());
    },
  };
}

/** The provided client. Throws outside an app using {@link createParley}. */
export function useParley<E extends EventSchemas = RegisteredEvents>(): ParleyClient<E> {
  const client = inject(parleyKey, null);
  if (client === null)
    throw new Error('useParley: install the plugin with app.use(createParley(...))');
  return client as unknown as ParleyClient<E>;
}
