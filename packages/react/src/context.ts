/**
 * `<ParleyProvider>`: puts a client in context. Given `client`, it only calls `client.connect()`
 * in an effect (a no-op unless the client was made with `autoConnect: false`) and never closes
 * it. Given `options`, it creates the client in an effect — never during render, so nothing
 * connects on the server — and closes it on unmount.
 */
import { type ClientOptions, createClient, type ParleyClient } from '@parley/client';
import type { EventSchemas } from '@parley/protocol/core';
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';
import type { RegisteredEvents } from './types.js';

// The context holds clients of any event map; hooks re-type them with the registered events.
type AnyClient = ParleyClient<EventSchemas>;

interface ParleyContextValue {
  /** `null` until an options-created client exists (first render, and always on the server). */
  client: AnyClient | null;
}

const ParleyContext = createContext<ParleyContextValue | undefined>(undefined);

/** Props of {@link ParleyProvider}: an existing client, or the options to create one. */
export type ParleyProviderProps<E extends EventSchemas = RegisteredEvents> = {
  children?: ReactNode;
} & (
  | {
      /** A client the app created (and closes). Create it with `autoConnect: false` for SSR. */
      client: ParleyClient<E>;
      options?: undefined;
    }
  | {
      /**
       * Options of a client the provider creates after mounting and closes on unmount. Read once:
       * remount (change the provider's `key`) to use other options, e.g. after a sign-in.
       */
      options: ClientOptions<E>;
      client?: undefined;
    }
);

interface Owned {
  client: AnyClient;
  closeTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Provides a Parley client to the hooks below it. */
export function ParleyProvider<E extends EventSchemas = RegisteredEvents>(
  props: ParleyProviderProps<E>,
): ReactNode {
  const given = props.client as unknown as AnyClient | undefined;
  const optionsRef = useRef(props.options as unknown as ClientOptions<EventSchemas> | undefined);
  const owned = useRef<Owned | null>(null);
  const [created, setCreated] = useState<AnyClient | null>(null);

  useEffect(() => {
    if (given !== undefined) {
      given.connect();
      return;
    }
    const options = optionsRef.current;
    if (options === undefined) return;
    let o = owned.current;
    if (o !== null && o.closeTimer !== undefined) {
      // StrictMode's simulated unmount/remount (or a fast remount): keep the same client.
      clearTimeout(o.closeTimer);
      o.closeTimer = undefined;
    }
    if (o === null) {
      o = { client: createClient(options), closeTimer: undefined };
      owned.current = o;
      setCreated(o.client);
    }
    const mine = o;
    return () => {
      // Deferred so that StrictMode's immediate remount reuses the client instead of opening a
      // second socket; a real unmount closes it on the next task.
      mine.closeTimer = setTimeout(() => {
        mine.client.close();
        if (owned.current === mine) owned.current = null;
      }, 0);
    };
  }, [given]);

  const client = given ?? created;
  return createElement(ParleyContext.Provider, { value: { client } }, props.children);
}

/** The context's client (`null` before an options-created client exists, and on the server). */
export function useParleyClientOrNull<
  E extends EventSchemas = RegisteredEvents,
>(): ParleyClient<E> | null {
  const value = useContext(ParleyContext);
  if (value === undefined) throw new Error('Parley hooks must be used inside <ParleyProvider>');
  return value.client as unknown as ParleyClient<E> | null;
}

/**
 * The context's client, for anything the hooks do not cover. Throws while there is none yet
 * (with `options`, the client exists from the first effect on; never on the server).
 */
export function useParleyClient<E extends EventSchemas = RegisteredEvents>(): ParleyClient<E> {
  const client = useParleyClientOrNull<E>();
  if (client === null) {
    throw new Error(
      'useParleyClient: no client yet (it is created after mounting, never on the server)',
    );
  }
  return client;
}
