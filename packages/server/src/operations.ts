/**
 * The operations callback (`operations.url`): the hub's `persistOperation` (and, with
 * `operations.authorize: 'app'`, the only authority on who may edit, delete or react) as an HTTP
 * call to the app, with the same idempotency key and failure semantics as the persistence
 * callback.
 */
import {
  ForbiddenError,
  type HubOptions,
  type Logger,
  MessageRejectedError,
  type PersistResult,
  UnavailableError,
} from '@parley/server-adapter';
import { AppContractError, AppUnavailableError, type Caller } from './callbacks.js';
import type { ServerConfig } from './config.js';
import { idempotencyKey } from './hooks.js';

/** `persistOperation` (and `authorizeOperation` in `app` mode) from `operations`. */
export function createOperationHooks(
  config: ServerConfig,
  caller: Caller,
  logger: Logger,
): Pick<HubOptions, 'persistOperation' | 'authorizeOperation'> {
  const target = config.operations.url;
  if (target === undefined) return {};
  const hooks: Pick<HubOptions, 'persistOperation' | 'authorizeOperation'> = {
    persistOperation: async ({ operation, target: message }) => {
      const key = idempotencyKey(operation);
      let res: Awaited<ReturnType<Caller['call']>>;
      try {
        res = await caller.call(
          'operation',
          target,
          { idempotencyKey: key, operation, target: message },
          { retry: true, headers: { 'idempotency-key': key } },
        );
      } catch (err) {
        if (err instanceof AppUnavailableError) {
          throw new UnavailableError(err.message, {
            cause: err,
            retryAfterMs: 1_000 + Math.floor(Math.random() * 4_000),
          });
        }
        throw err;
      }
      const body = res.body as Record<string, unknown> | undefined | null;
      if (res.status >= 200 && res.status < 300) {
        if (body === undefined || body === null) return undefined;
        const out: PersistResult = {};
        if (typeof body.id === 'string' && body.id !== '') out.id = body.id;
        if (typeof body.text === 'string') out.text = body.text;
        if (body.data !== undefined) out.data = body.data as PersistResult['data'];
        return out;
      }
      if (res.status === 401) {
        logger.error({ callback: 'operation' }, 'the app refused the callback secret (HTTP 401)');
        throw new AppContractError('operation', 'HTTP 401: check callbacks.secret');
      }
      const reason =
        typeof body?.reason === 'string' && body.reason !== '' ? body.reason : undefined;
      if (res.status === 403) throw new ForbiddenError(reason ?? 'not allowed by the app');
      throw new MessageRejectedError(reason ?? 'rejected by the app');
    },
  };
  // `app`: the callback is the only authority (it answers 403 to refuse); `author`: the hub's
  // default rule runs first (only authors edit and delete, every member reacts).
  if (config.operations.authorize === 'app') hooks.authorizeOperation = () => true;
  return hooks;
}
