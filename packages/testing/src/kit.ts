/**
 * `createTestHub`: the real hub core (`createHub`, memory engine) behind an msw WebSocket handler,
 * plus clients wired to it, so a component test can sign users in, send, go offline and come
 * back — with no server and no port.
 */
import {
  type ClientOptions,
  createClient,
  type Lifecycle,
  manualLifecycle,
  type ParleyClient,
  type WebSocketConstructor,
} from '@parley/client';
import type { EventSchemas, NoEvents, Profile } from '@parley/protocol';
import { createHub, type Hub, type HubOptions } from '@parley/server-adapter';
import { type WebSocketHandler, ws } from 'msw';
import { FrameLog, type FrameMatcher, type RecordedFrame } from './frames.js';
import { bindMswConnection, type MockConnection } from './transport.js';
import { type WaitOptions, waitFor } from './wait.js';
import { ensureWebSocketGlobal, MockableWebSocket } from './websocket.js';

/** Default URL the handler intercepts. Any host works: nothing is ever resolved. */
export const DEFAULT_TEST_URL = 'ws://parley.test/parley';

const TOKEN_PREFIX = 'parley-test:';

/** Options of {@link createTestHub}. */
export interface TestHubOptions<E extends EventSchemas = NoEvents> {
  /**
   * Known users and their public profiles (stored on their messages). `kit.token(id)` of a user
   * not listed is refused (close 4401). @default any user id is accepted, profile `{ name: id }`
   */
  users?: Record<string, Profile>;
  /** Conversations and their members. @default {} */
  conversations?: Record<string, readonly string[]>;
  /** The app's custom events (`defineEvents`), for the hub and for `kit.client`. */
  events?: E;
  /** The URL intercepted (and given to `kit.client`). @default 'ws://parley.test/parley' */
  url?: string;
  /**
   * Any other hub option (`persist`, `typing.ttlMs`, `presence.graceMs`, `limits`, …), merged
   * over the kit's. The kit's `authenticate` and `conversationsOf` can be replaced here too.
   * @default presence.graceMs 0 (offline is reported at once)
   */
  hub?: Partial<HubOptions<E>>;
  /**
   * Defaults for `kit.client` (merged under its own options).
   * @default reconnect { minDelayMs: 20, maxDelayMs: 200 }, a manual lifecycle per client
   */
  client?: Partial<ClientOptions<E>>;
}

/** What {@link createTestHub} returns. */
export interface TestHub<E extends EventSchemas = NoEvents> {
  /** The msw handler: `setupServer(kit.handler)` (Node) or `setupWorker(kit.handler)` (browser). */
  readonly handler: WebSocketHandler;
  /** The intercepted URL. */
  readonly url: string;
  /** The hub core behind the handler (`publish`, `join`, `stats`, …). Replaced by `reset()`. */
  readonly hub: Hub<E>;
  /**
   * A WebSocket class for clients the app creates itself: `createClient({ url: kit.url,
   * token: kit.token('alice'), WebSocket: kit.WebSocket })`. (In Node, the client's default
   * `isomorphic-ws` is the `ws` package, which msw does not intercept.)
   */
  readonly WebSocket: WebSocketConstructor;
  /** Every frame in both directions since creation (or `clearFrames()`/`reset()`). */
  readonly frames: readonly RecordedFrame[];
  /** The token `authenticate` accepts for `userId`. */
  token(userId: string): string;
  /**
   * Client options for `userId` (url, token, WebSocket, fast reconnects), for code that creates
   * its own client: `<ParleyProvider options={kit.options('alice')}>`, `createParley(kit.options('alice'))`.
   */
  options(userId: string, overrides?: Partial<ClientOptions<E>>): ClientOptions<E>;
  /**
   * A real client signed in as `userId`, connected through the mock, with a manual lifecycle that
   * `goOffline`/`goOnline` drive. Closed by `reset()`/`close()`.
   */
  client(userId: string, options?: Partial<ClientOptions<E>>): ParleyClient<E>;
  /** Resolves once `client` is `open` (welcome received and outbox flushed). */
  connected(client: ParleyClient<E>, options?: WaitOptions): Promise<void>;
  /**
   * Cuts every link of `userId` (clients see close 1006) and refuses their new connections until
   * `goOnline`. Kit clients are also told the network is offline (state `offline`).
   */
  goOffline(userId: string): void;
  /** Accepts `userId` again; kit clients are told the network is back and reconnect at once. */
  goOnline(userId: string): void;
  /** Open mocked connections (of one user, or all). */
  connections(userId?: string): MockConnection[];
  /** Resolves with the first recorded frame matching (see {@link FrameMatcher}). */
  waitForFrame(
    match: FrameMatcher,
    options?: WaitOptions & { from?: number },
  ): Promise<RecordedFrame>;
  /** Waits until `check` returns something other than false/undefined (no sleeps; fake-timer aware). */
  waitFor<T>(check: () => T | false | undefined, options?: WaitOptions): Promise<T>;
  clearFrames(): void;
  /** Closes kit clients, drops connections and starts a fresh hub (empty history): call in `afterEach`. */
  reset(): Promise<void>;
  /** Closes kit clients and the hub. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates the in-process hub and its msw handler.
 *
 * ```ts
 * const kit = createTestHub({ conversations: { c1: ['alice', 'bob'] } });
 * const server = setupServer(kit.handler);
 * beforeAll(() => server.listen());
 * afterEach(() => kit.reset());
 * afterAll(() => server.close());
 * ```
 */
export function createTestHub<const E extends EventSchemas = NoEvents>(
  options: TestHubOptions<E> = {},
): TestHub<E> {
  ensureWebSocketGlobal();
  const url = options.url ?? DEFAULT_TEST_URL;
  const users = options.users;
  const members = new Map<string, string[]>(
    Object.entries(options.conversations ?? {}).map(([id, m]) => [id, [...m]]),
  );
  const log = new FrameLog();
  const offline = new Set<string>();
  const conns = new Set<MockConnection>();
  const kitClients = new Map<
    ParleyClient<E>,
    { userId: string; lifecycle?: ReturnType<typeof manualLifecycle> }
  >();

  const userOfToken = (token: string | undefined): string | undefined => {
    if (token === undefined || !token.startsWith(TOKEN_PREFIX)) return undefined;
    const id = token.slice(TOKEN_PREFIX.length);
    if (id === '' || (users !== undefined && !(id in users))) return undefined;
    return id;
  };

  const makeHub = (): Hub<E> =>
    createHub<E>({
      authenticate: ({ token }) => {
        const userId = userOfToken(token);
        if (userId === undefined) return null;
        return { userId, profile: users?.[userId] ?? { name: userId } };
      },
      conversationsOf: (userId) =>
        [...members].filter(([, m]) => m.includes(userId)).map(([id]) => id),
      ...(options.events === undefined ? {} : { events: options.events }),
      ...options.hub,
      presence: { graceMs: 0, ...options.hub?.presence },
    } as HubOptions<E>);

  let hub = makeHub();

  const handler = ws.link(url).addEventListener('connection', (connection) => {
    const conn = bindMswConnection(hub, connection, {
      frame: (c, direction, frame) =>
        log.record({ direction, connection: c.id, userId: c.userId, frame } as RecordedFrame),
      userOfToken,
      identified: (c) => c.userId === undefined || !offline.has(c.userId),
      closed: (c) => conns.delete(c),
    });
    if (conn.open) conns.add(conn);
  });

  const closeClients = () => {
    for (const c of kitClients.keys()) c.close();
    kitClients.clear();
  };

  const kit: TestHub<E> = {
    handler,
    url,
    get hub() {
      return hub;
    },
    WebSocket: MockableWebSocket,
    get frames() {
      return log.frames;
    },
    token: (userId) => `${TOKEN_PREFIX}${userId}`,
    options(userId, overrides = {}) {
      const defaults = options.client ?? {};
      return {
        url,
        token: kit.token(userId),
        WebSocket: MockableWebSocket,
        ...(options.events === undefined ? {} : { events: options.events }),
        ...defaults,
        ...overrides,
        reconnect: {
          minDelayMs: 20,
          maxDelayMs: 200,
          ...defaults.reconnect,
          ...overrides.reconnect,
        },
      } as ClientOptions<E>;
    },
    client(userId, clientOptions = {}) {
      let lifecycle: ReturnType<typeof manualLifecycle> | undefined;
      let lc: Lifecycle | undefined = clientOptions.lifecycle ?? options.client?.lifecycle;
      if (lc === undefined) {
        lifecycle = manualLifecycle();
        lifecycle.online = !offline.has(userId);
        lc = lifecycle;
      }
      const client = createClient<E>({ ...kit.options(userId, clientOptions), lifecycle: lc });
      kitClients.set(client, lifecycle === undefined ? { userId } : { userId, lifecycle });
      return client;
    },
    connected: (client, waitOptions) =>
      waitFor(
        () => {
          if (client.state === 'closed') throw new Error('kit.connected: the client is closed');
          return client.state === 'open';
        },
        { message: 'kit.connected: the client did not connect', ...waitOptions },
      ).then(() => undefined),
    goOffline(userId) {
      offline.add(userId);
      for (const [, k] of kitClients) if (k.userId === userId) k.lifecycle?.signal('offline');
      for (const c of [...conns]) if (c.userId === userId) c.drop('offline');
    },
    goOnline(userId) {
      offline.delete(userId);
      for (const [, k] of kitClients) if (k.userId === userId) k.lifecycle?.signal('online');
    },
    connections: (userId) =>
      [...conns].filter((c) => c.open && (userId === undefined || c.userId === userId)),
    waitForFrame: (match, waitOptions) => log.wait(match, waitOptions),
    waitFor: (check, waitOptions) => waitFor(check, waitOptions),
    clearFrames: () => log.clear(),
    async reset() {
      closeClients();
      offline.clear();
      const old = hub;
      hub = makeHub();
      for (const c of [...conns]) c.drop('reset');
      conns.clear();
      await old.close();
      log.clear();
    },
    async close() {
      closeClients();
      for (const c of [...conns]) c.drop('closed');
      conns.clear();
      await hub.close();
    },
    [Symbol.asyncDispose]() {
      return kit.close();
    },
  };
  return kit;
}
