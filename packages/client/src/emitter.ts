/**
 * A small typed event emitter whose `on`/`once` return an unsubscribe function, so UI bindings can
 * clean up without keeping the listener. (It replaced eventemitter3, a quarter of the browser
 * bundle for the few methods used here; and here one listener that throws never keeps the others
 * from being called.)
 */

/** A map from event name to listener signature. */
export type EventMap = { [event: string]: (...args: never[]) => void };

/** Unsubscribes the listener it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Public subscription surface shared by the client and conversations. */
export class Emitter<Events extends EventMap> {
  /** @internal Listeners per event, in subscription order. */
  protected readonly _listeners = new Map<keyof Events, Array<Events[keyof Events]>>();

  /**
   * @param onListenerError where an exception thrown by an app listener goes: the client state
   * must never be left half-updated because a UI callback threw.
   */
  constructor(private readonly onListenerError: (err: unknown) => void) {}

  /** Subscribes to `event`; returns the unsubscribe function. */
  on<K extends keyof Events & string>(event: K, listener: Events[K]): Unsubscribe {
    this._listeners.set(event, [...(this._listeners.get(event) ?? []), listener]);
    return () => {
      const list = this._listeners.get(event) ?? [];
      const i = list.indexOf(listener);
      if (i >= 0) this._listeners.set(event, [...list.slice(0, i), ...list.slice(i + 1)]);
    };
  }

  /** Subscribes to the next `event` only; returns the unsubscribe function. */
  once<K extends keyof Events & string>(event: K, listener: Events[K]): Unsubscribe {
    const off = this.on(event, ((...args: Parameters<Events[K]>) => {
      off();
      listener(...args);
    }) as Events[K]);
    return off;
  }

  /**
   * Listeners registered for `event`, or for every event when omitted. For leak checks, e.g. UI
   * bindings asserting that unmounting released every listener.
   */
  listenerCount(event?: keyof Events & string): number {
    let n = 0;
    for (const [name, list] of this._listeners)
      if (event === undefined || name === event) n += list.length;
    return n;
  }

  /** @internal Calls every listener of `event` (those subscribed when it was emitted). */
  protected _emit<K extends keyof Events & string>(event: K, ...args: Parameters<Events[K]>): void {
    for (const listener of this._listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
