/** Parts of `createHub` kept apart so that `hub.ts` stays readable: server events and shutdown. */
import { CloseCode, ServerEventFrame, validateEvent } from '@parley/protocol';
import { HubUsageError } from '../errors.js';
import type { HubServices } from './connection.js';
import type { HubContext } from './context.js';

/**
 * An event from server code: the app's schema for `name`, then the frame every receiver decodes
 * (the name's syntax, a plain JSON payload, the conversation id), so that a bad event is refused
 * here rather than failing every client's decoder (issue 19: parley-server's `events: ["*"]`
 * let any name through).
 */
export async function validatedEvent(
  ctx: HubContext,
  name: string,
  payload: unknown,
  conversationId?: string,
): Promise<unknown> {
  const v = await validateEvent(ctx.options.events ?? {}, name, payload);
  if (!v.ok) throw new HubUsageError(v.message);
  const frame = ServerEventFrame.safeParse({
    type: 'event',
    name,
    from: ctx.config.systemUserId,
    payload: v.value,
    ...(conversationId === undefined ? {} : { conversationId }),
  });
  if (!frame.success) {
    const issue = frame.error.issues[0];
    throw new HubUsageError(`${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}`);
  }
  return v.value;
}

/**
 * Graceful shutdown: `shutdown` (jittered `retryAfterMs`) then 1012 to every socket in batches,
 * waits for them to close, then runs `finish` (subscriptions, adapters, the engine).
 */
export async function shutdownHub(
  services: HubServices,
  finish: () => Promise<void>,
): Promise<void> {
  const { ctx } = services;
  ctx.closing = true;
  services.presence.stop();
  const conns = [...services.connections];
  const { batchSize, batchIntervalMs, retryJitterMs } = ctx.config;
  for (let i = 0; i < conns.length; i += batchSize) {
    if (i > 0) await new Promise((r) => setTimeout(r, batchIntervalMs));
    for (const c of conns.slice(i, i + batchSize)) {
      if (c.state === 'open')
        c.send({ type: 'shutdown', retryAfterMs: Math.floor(Math.random() * retryJitterMs) });
      c.close(CloseCode.ServiceRestart, 'service restart');
    }
  }
  await Promise.all(conns.map((c) => c.closed));
  await finish();
}
