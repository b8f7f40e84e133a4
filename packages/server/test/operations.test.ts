/**
 * The operations callback (`operations.url`): each edit/delete/reaction is POSTed with its
 * idempotency key and target; the app's answer becomes the hub's `persistOperation` result or a
 * typed refusal (403 forbidden, 4xx rejected with the reason, down: unavailable), and
 * `authorize: 'app'` makes the app the only authority. (How the hub answers each refusal on the
 * wire is covered by the server-adapter's operations suite.)
 */
import type { Message } from '@parley/protocol';
import {
  ForbiddenError,
  type MessageDraft,
  MessageRejectedError,
  UnavailableError,
} from '@parley/server-adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { AppContractError, createCaller } from '../src/callbacks.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { idempotencyKey } from '../src/hooks.js';
import { createJsonLogger } from '../src/logger.js';
import { createOperationHooks } from '../src/operations.js';
import { type App, SECRET, startApp } from './helpers.js';

const logger = createJsonLogger({ level: 'silent' });
const settings = { timeoutMs: 300, retries: 1, backoffMs: 1, maxBackoffMs: 5, secret: 'cb' };
let app: App | undefined;
afterEach(async () => {
  await app?.close();
});

const config = (operations: Record<string, unknown>) =>
  parseConfig({ auth: { jwt: { secret: SECRET } }, operations });

const target: Message = {
  id: 'm1',
  conversationId: 'c1',
  seq: 1,
  clientMsgId: 'k0',
  senderId: 'alice',
  kind: 'user',
  text: 'hi',
  createdAt: 1,
};
const operation: MessageDraft = {
  id: 'op1',
  conversationId: 'c1',
  clientMsgId: 'k1',
  senderId: 'bob',
  kind: 'edit',
  text: 'hi!',
  target: 1,
  createdAt: 2,
};

describe('operations callback', () => {
  it('posts the operation, its target and the idempotency key; 2xx results become the stored fields', async () => {
    app = await startApp({ '/op': () => [200, { id: 'db-1', text: 'hi! (edited)' }] });
    const hooks = createOperationHooks(
      config({ url: `${app.url}/op` }),
      createCaller(settings, logger),
      logger,
    );
    expect(hooks.authorizeOperation).toBeUndefined(); // the hub's default rule applies
    await expect(hooks.persistOperation!({ operation, target })).resolves.toEqual({
      id: 'db-1',
      text: 'hi! (edited)',
    });
    const key = idempotencyKey(operation);
    expect(app.calls[0]!.body).toEqual({ idempotencyKey: key, operation, target });
    expect(app.calls[0]!.headers['idempotency-key']).toBe(key);
  });

  it('maps 403 to forbidden, other 4xx to rejected (with the reason), 401 to a contract error and a down app to unavailable', async () => {
    const answers: [number, unknown][] = [
      [403, { reason: 'moderators only' }],
      [422, { reason: 'too late to edit' }],
      [409, {}],
      [401, {}],
      [503, {}],
    ];
    app = await startApp({ '/op': () => answers.shift()! as [number, Record<string, unknown>] });
    const hooks = createOperationHooks(
      config({ url: `${app.url}/op`, authorize: 'app' }),
      createCaller({ ...settings, retries: 0 }, logger),
      logger,
    );
    expect(hooks.authorizeOperation!({ operation, target })).toBe(true);
    const persist = hooks.persistOperation!;
    const call = () => Promise.resolve(persist({ operation, target })).catch((e: unknown) => e);
    const forbidden = await call();
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect((forbidden as Error).message).toBe('moderators only');
    const rejected = await call();
    expect(rejected).toBeInstanceOf(MessageRejectedError);
    expect((rejected as Error).message).toBe('too late to edit');
    expect(await call()).toBeInstanceOf(MessageRejectedError);
    expect(await call()).toBeInstanceOf(AppContractError);
    const down = await call();
    expect(down).toBeInstanceOf(UnavailableError);
    expect((down as UnavailableError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('without a url there are no hooks; authorize "app" needs a url', () => {
    expect(createOperationHooks(config({}), createCaller(settings, logger), logger)).toEqual({});
    expect(() => config({ authorize: 'app' })).toThrow(ConfigError);
    expect(() => config({ authorize: 'app' })).toThrow(/operations\.authorize/);
  });
});
