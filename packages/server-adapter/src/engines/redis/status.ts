/**
 * The Redis engine's connection status: the state of its two connections (commands, subscriber),
 * reported to `onStatus` listeners on every change and logged once per outage.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import type { RedisEngineStatus } from './options.js';

type Connection = RedisEngineStatus['connection'];
type State = RedisEngineStatus['state'];

export interface StatusTracker {
  /**
   * Follows `conn`'s events; `onReady` runs when it is ready again after a drop (not the first
   * time). Ignored once `closing()` was called.
   */
  watch(conn: Redis | Cluster, connection: Connection, onReady?: () => void): void;
  /** A copy of both states. */
  current(): Record<Connection, State>;
  /** Calls `listener` on every state change. Returns the unsubscribe function. */
  onStatus(listener: (status: RedisEngineStatus) => void): () => void;
  /** The engine is closing: connection drops are no longer reported as reconnects. */
  closing(): void;
  /** Both connections are closed: reported, then every listener is dropped. */
  closed(): void;
}

export function statusTracker(logger: Logger, commandsReady: boolean): StatusTracker {
  const listeners = new Set<(s: RedisEngineStatus) => void>();
  const state: Record<Connection, State> = {
    commands: commandsReady ? 'ready' : 'reconnecting',
    subscriber: 'reconnecting',
  };
  const lastError: Partial<Record<Connection, Error>> = {};
  let closing = false;

  const setState = (connection: Connection, next: State): void => {
    if (state[connection] === next) return;
    const wasReady = state[connection] === 'ready';
    state[connection] = next;
    const error = lastError[connection];
    const status: RedisEngineStatus =
      error === undefined || next !== 'reconnecting'
        ? { connection, state: next }
        : { connection, state: next, error };
    if (next === 'reconnecting' && wasReady)
      logger.warn({ err: error, connection }, 'parley redis engine: connection lost, reconnecting');
    if (next === 'ready') {
      delete lastError[connection];
      logger.info({ connection }, 'parley redis engine: connection ready');
    }
    for (const l of [...listeners]) {
      try {
        l(status);
      } catch (err) {
        logger.error({ err }, 'parley redis engine: status listener threw');
      }
    }
  };

  return {
    watch(conn, connection, onReady) {
      let everReady = conn.status === 'ready';
      // Without an 'error' listener an unreachable Redis would crash the process.
      let quiet = false;
      conn.on('error', (err: Error) => {
        lastError[connection] = err;
        // ioredis reports every failed reconnect attempt: warn once per outage, then debug.
        if (quiet) logger.debug({ err, connection }, 'parley redis engine: connection error');
        else logger.warn({ err, connection }, 'parley redis engine: connection error');
        quiet = true;
      });
      conn.on('close', () => {
        if (!closing) setState(connection, 'reconnecting');
      });
      conn.on('ready', () => {
        quiet = false;
        if (closing) return;
        setState(connection, 'ready');
        if (everReady) onReady?.();
        everReady = true;
      });
    },
    current: () => ({ ...state }),
    onStatus(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    closing() {
      closing = true;
    },
    closed() {
      setState('commands', 'closed');
      setState('subscriber', 'closed');
      listeners.clear();
    },
  };
}
