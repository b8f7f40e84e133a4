/**
 * msw intercepts WebSockets by patching `globalThis.WebSocket`, and only when that global exists.
 * Node 20 has none, so the kit installs a placeholder for msw to patch. The placeholder never
 * opens a real connection: every socket the kit serves is a mock.
 */
import type { WebSocketConstructor, WebSocketLike } from '@parley/client';

const MISSING =
  'parley/testing: no WebSocket interception is active. Start msw with the kit handler ' +
  '(`setupServer(kit.handler).listen()` or `setupWorker(kit.handler).start()`) before connecting.';

/** Stand-in for a missing global `WebSocket` (Node 20): msw replaces it with its interceptor. */
class PlaceholderWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  constructor() {
    throw new Error(MISSING);
  }
}

/** Installs {@link PlaceholderWebSocket} as `globalThis.WebSocket` when the runtime has none. */
export function ensureWebSocketGlobal(): void {
  const g = globalThis as { WebSocket?: unknown };
  if (typeof g.WebSocket !== 'undefined') return;
  Object.defineProperty(globalThis, 'WebSocket', {
    value: PlaceholderWebSocket,
    configurable: true,
    writable: true,
  });
}

/**
 * A WebSocket constructor that looks `globalThis.WebSocket` up at construction time, so it is the
 * class msw patched even when the client was configured before `server.listen()`.
 * (In Node, `@parley/client`'s default `isomorphic-ws` resolves to the `ws` package, which msw
 * does not intercept: pass this class as the client's `WebSocket` option in tests.)
 */
export const MockableWebSocket: WebSocketConstructor = class {
  constructor(url: string, protocols?: string | string[]) {
    const Ctor = (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) throw new Error(MISSING);
    // Returning an object from a constructor makes `new` evaluate to it: the patched instance.
    // biome-ignore lint/correctness/noConstructorReturn: deliberate delegation to the global.
    return new Ctor(url, protocols);
  }
} as unknown as WebSocketConstructor;

export type { WebSocketLike };
