/**
 * A typed event emitter (eventemitter3 v5's generic `EventEmitter<Events>`) whose `on`/`once`
 * return an unsubscribe function, so UI bindings can clean up without keeping the listener.
 */
import { EventEmitter } from 'eventemitter3';

/** A map from event name to listener signature. */
export type EventMap = { [event: string]: (...args: never[]) => void };

/** Unsubscribes the listener it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Public subscription surface shared by the client and conversations. */
export class Emitter<Events extends EventMap> {
  /** @internal */
  protected readonly _events = new EventEmitter<Events>();

  /** Subscribes to `event`; returns the unsubscribe function. */
  on<K extends EventEmitter.EventNames<Events>>(
    event: K,
    listener: EventEmitter.EventListener<Events, K>,
  ): Unsubscribe {
    this._events.on(event, listener);
    return () => {
      this._events.off(event, listener);
    };
  }

  /** Subscribes to the next `event` only; returns the unsubscribe function. */
  once<K extends EventEmitter.EventNames<Events>>(
    event: K,
    listener: EventEmitter.EventListener<Events, K>,
  ): Unsubscribe {
    this._events.once(event, listener);
    return () => {
      this._events.off(event, listener);
    };
  }

  /**
   * Listeners registered for `event`, or for every event when omitted. For leak checks, e.g. UI
   * bindings asserting that unmounting released every listener.
   */
  listenerCount(event?: EventEmitter.EventNames<Events>): number {
    if (event !== undefined) return this._events.listenerCount(event);
    return this._events.eventNames().reduce((n, name) => n + this._events.listenerCount(name), 0);
  }

  /**
   * @param onListenerError where an exception thrown by an app listener goes: the client state
   * must never be left half-updated because a UI callback threw.
   */
  constructor(private readonly onListenerError: (err: unknown) => void) {}

  /** @internal */
  protected _emit<K extends EventEmitter.EventNames<Events>>(
    event: K,
    ...args: EventEmitter.EventArgs<Events, K>
  ): void {
    try {
      this._events.emit(event, ...args);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
