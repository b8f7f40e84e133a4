/**
 * The operations callback (`operations.url`): the hub's `persistOperation` (and, with
 * `operations.authorize: 'app'`, the only authority on who may edit, delete or react) as an HTTP
 * call to the app, with the same idempotency key and failure semantics as the persistence
 * callback.
 */
import type { HubOptions, Logger } from '@parley/server-adapter';
import type { Caller } from './callbacks.js';
import type { ServerConfig } from './config.js';
import { callPersistence, idempotencyKey } from './hooks.js';

/** `persistOperation` (and `authorizeOperation` in `app` mode) from `operations`. */
export function createOperationHooks(
  config: ServerConfig,
  caller: Caller,
  logger: Logger,
): Pick<HubOptions, 'persistOperation' | 'authorizeOperation'> {
  const target = config.operations.url;
  if (target === undefined) return {};
  const hooks: Pick<HubOptions, 'persistOperation' | 'authorizeOperation'> = {
    persistOperation: async ({ operation, target: message }) =>
      callPersistence(
        caller,
        logger,
        'operation',
        target,
        idempotencyKey(operation),
        { operation, target: message },
        true,
      ),
  };
  // `app`: the callback is the only authority (it answers 403 to refuse); `author`: the hub's
  // default rule runs first (only authors edit and delete, every member reacts).
  if (config.operations.authorize === 'app') hooks.authorizeOperation = () => true;
  return hooks;
}
