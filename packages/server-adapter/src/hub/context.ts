/** State shared by the hub's parts (one per hub). Internal. */
import type { EventSchemas } from '@parley/protocol';
import { Limits, Message, Profile, textLength, UserId } from '@parley/protocol';
import type { Engine, MessageDraft } from '../engines/types.js';
import type { Logger } from '../logger.js';
import { utf8Bytes } from '../text.js';
import type { HubOptions, MetricEvent, ResolvedConfig } from './options.js';

/** Counters behind `hub.stats()`. */
export interface Counters {
  framesIn: number;
  framesOut: number;
  messagesStored: number;
  droppedEphemeral: number;
  rateLimited: number;
  slowConsumerCloses: number;
  heartbeatTimeouts: number;
}

export interface HubContext {
  options: HubOptions<EventSchemas>;
  config: ResolvedConfig;
  engine: Engine;
  logger: Logger;
  counters: Counters;
  closing: boolean;
}

/** A hook failed: the client gets `unavailable` (retry is safe); the cause is logged. */
export class HookError extends Error {
  override readonly name = 'HookError';
  constructor(
    readonly hook: string,
    cause: unknown,
  ) {
    super(`hook ${hook} failed`, { cause });
  }
}

/**
 * Checks a message about to be stored (by `hub.publish`, or as changed by a `persist` hook)
 * against the protocol schema, so that no client ever receives a frame it cannot decode: text
 * length in Unicode code points (the protocol's one unit, like the frame schema), and at most
 * `maxBytes` of JSON (so that every message fits the frames built from history). Returns the
 * first problem, or `undefined`.
 */
export function invalidMessage(draft: MessageDraft, maxBytes: number): string | undefined {
  if (typeof draft.text === 'string' && textLength(draft.text) > Limits.MAX_TEXT_LENGTH) {
    return `text is longer than ${Limits.MAX_TEXT_LENGTH} code points`;
  }
  const result = Message.safeParse({ ...draft, seq: 1 });
  if (!result.success) {
    const issue = result.error.issues[0];
    return `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`;
  }
  if (utf8Bytes(JSON.stringify(draft)) > maxBytes)
    return `message is larger than ${maxBytes} bytes`;
  return undefined;
}

/**
 * Checks `authenticate`'s user id and profile. Returns the problem, or the profile as the schema
 * parsed it: only its known fields (`name`, `avatarUrl`), never an `id` or anything else the app's
 * user object carried (issue 13: an `id` overrode `welcome.user.id`, an `email` reached every
 * member).
 */
export function identityProblem(
  userId: string,
  profile: unknown,
): { problem?: string; profile?: Profile } {
  const id = UserId.safeParse(userId);
  if (!id.success) return { problem: `userId: ${id.error.issues[0]?.message ?? 'invalid'}` };
  if (profile === undefined || profile === null) return {};
  const p = Profile.safeParse(profile);
  if (!p.success) return { problem: `profile.${p.error.issues[0]?.path.join('.') ?? ''}: invalid` };
  const clean: Profile = {};
  if (p.data.name !== undefined) clean.name = p.data.name;
  if (p.data.avatarUrl !== undefined) clean.avatarUrl = p.data.avatarUrl;
  return { profile: clean };
}

/** Runs an app hook, turning a throw into a {@link HookError} (except errors in `passThrough`). */
/** An app hook did not settle within its deadline (see {@link withDeadline}). */
export class HookTimeoutError extends Error {
  constructor(hook: string, ms: number) {
    super(`the ${hook} hook did not settle within ${ms} ms`);
    this.name = 'HookTimeoutError';
  }
}

/**
 * Settles like `work`, or rejects with {@link HookTimeoutError} after `ms`. The hook itself
 * cannot be stopped: what it does later is ignored (its rejection is observed, never unhandled).
 */
export function withDeadline<T>(work: Promise<T> | T, ms: number, hook: string): Promise<T> {
  const p = Promise.resolve(work);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HookTimeoutError(hook, ms)), ms);
    timer.unref?.();
  });
  p.catch(() => {});
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export async function callHook<T>(
  hook: string,
  fn: () => Promise<T> | T,
  passThrough?: (err: unknown) => boolean,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (passThrough?.(err)) throw err;
    throw new HookError(hook, err);
  }
}

/**
 * {@link callHook} for a hook the hub waits on while it handles a frame: within
 * `limits.hookTimeoutMs`, past which it fails with a {@link HookError} whose cause is a
 * {@link HookTimeoutError} (answered `unavailable`), and the socket's queue goes on.
 */
export function callHookWithin<T>(
  ctx: HubContext,
  hook: string,
  fn: () => Promise<T> | T,
  passThrough?: (err: unknown) => boolean,
): Promise<T> {
  return callHook(hook, () => withDeadline(fn(), ctx.config.hookTimeoutMs, hook), passThrough);
}

/** Hands an event to the app's `metrics` hook, if any; a throwing hook never disturbs the hub. */
export function metric(ctx: HubContext, event: MetricEvent): void {
  const hook = ctx.options.metrics;
  if (hook === undefined) return;
  try {
    hook(event);
  } catch (err) {
    ctx.logger.warn({ err, metric: event.type }, 'parley: metrics hook failed');
  }
}
