/**
 * Browser lifecycle signals. Browsers throttle timers in hidden tabs, so the client must not rely
 * on its heartbeat timer firing on time: when the tab becomes visible again or the network comes
 * back, it probes the link at once (and reconnects at once when it is down).
 */

/** A signal the client reacts to. */
export type LifecycleSignal = 'online' | 'offline' | 'visible';

/** Source of lifecycle signals; inject one in tests or non-browser runtimes. */
export interface Lifecycle {
  /** Starts delivering signals; returns the function that stops it. */
  subscribe(listener: (signal: LifecycleSignal) => void): () => void;
  /** Whether the runtime believes it is online (`navigator.onLine`). */
  isOnline(): boolean;
}

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** `window`'s `online`/`offline` and `document`'s `visibilitychange`, when they exist (no-op in Node). */
export function browserLifecycle(): Lifecycle {
  const g = globalThis as {
    addEventListener?: EventTargetLike['addEventListener'];
    removeEventListener?: EventTargetLike['removeEventListener'];
    document?: EventTargetLike & { visibilityState?: string };
    navigator?: { onLine?: boolean };
  };
  return {
    subscribe(listener) {
      const online = () => listener('online');
      const offline = () => listener('offline');
      const visible = () => {
        if (g.document?.visibilityState === 'visible') listener('visible');
      };
      const win =
        typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function';
      if (win) {
        g.addEventListener!('online', online);
        g.addEventListener!('offline', offline);
      }
      g.document?.addEventListener('visibilitychange', visible);
      return () => {
        if (win) {
          g.removeEventListener!('online', online);
          g.removeEventListener!('offline', offline);
        }
        g.document?.removeEventListener('visibilitychange', visible);
      };
    },
    isOnline: () => g.navigator?.onLine !== false,
  };
}

/** A lifecycle driven by hand (tests, React Native glue): call `signal(...)`, set `online`. */
export function manualLifecycle(): Lifecycle & {
  signal(s: LifecycleSignal): void;
  online: boolean;
} {
  const listeners = new Set<(s: LifecycleSignal) => void>();
  const lc = {
    online: true,
    subscribe(listener: (s: LifecycleSignal) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    isOnline: () => lc.online,
    signal(s: LifecycleSignal) {
      if (s === 'online') lc.online = true;
      if (s === 'offline') lc.online = false;
      for (const l of [...listeners]) l(s);
    },
  };
  return lc;
}
