/**
 * `applyOperation` and `message` of the Redis engine (edit, delete, reaction). The target's new
 * state is computed here (`applyToTarget`, as in the memory engine) and stored by one script
 * (`operation-scripts.ts`) only if the target is still exactly as read: compare and set, read
 * again after a lost round. Each process runs one operation per message at a time, so a burst on
 * a hot message only races the other processes.
 */
import type { Message } from '@parley/protocol';
import type { Cluster, Redis } from 'ioredis';
import { applyToTarget, canOperateOn } from '../operations.js';
import type { Engine, OperationInput, OperationResult } from '../types.js';
import type { OperationCommands } from './operation-scripts.js';
import { str } from './reply.js';

/** Compare-and-set rounds of `applyOperation` before it gives up (`unavailable` to the client). */
const MAX_OPERATION_ATTEMPTS = 50;
/** Longest pause before a compare-and-set round that lost (full jitter, growing per round). */
const OPERATION_BACKOFF_MS = 20;

/** What the engine hands over: its connection, key names and settings. */
export interface OperationDeps {
  redis: (Redis | Cluster) & OperationCommands;
  keys(conversationId: string): {
    meta: string;
    log: string;
    reads: string;
    idemIndex: string;
    state: string;
  };
  idemKey(conversationId: string, senderId: string, clientMsgId: string): string;
  leaseKey(conversationId: string, senderId: string, clientMsgId: string): string;
  /** The pub/sub channel of a conversation. */
  channel(conversationId: string): string;
  now(): number;
  newEpoch(): string;
  /** The age cutoff of held messages ('' = none). */
  cutoff(): string;
  maxMessages: number;
  /** 0 = no age limit. */
  maxAgeMs: number;
  idemTtl: number;
  idemMax: number;
  findByClientId: Engine['findByClientId'];
}

export function redisOperations(d: OperationDeps): Pick<Engine, 'applyOperation' | 'message'> {
  /** A held message's current state (JSON as stored) and the epoch it was read in. */
  const readMessage = async (
    conversationId: string,
    seq: string,
  ): Promise<{ epoch: string; json: string } | undefined> => {
    const k = d.keys(conversationId);
    const r = (await d.redis.parleyMessage(k.meta, k.log, k.state, seq, d.cutoff())) as
      | unknown[]
      | null;
    return r === null || r === undefined ? undefined : { epoch: str(r[0]), json: str(r[1]) };
  };

  const applyNow = async ({
    draft,
    origin,
    maxTargetBytes,
  }: OperationInput): Promise<OperationResult> => {
    const conversationId = draft.conversationId;
    const k = d.keys(conversationId);
    const targetSeq = String(draft.target ?? 0);
    for (let attempt = 0; attempt < MAX_OPERATION_ATTEMPTS; attempt++) {
      const read = await readMessage(conversationId, targetSeq);
      const current = read === undefined ? undefined : (JSON.parse(read.json) as Message);
      // The largest seq stands in for the operation's (measured with the longest `version`).
      const next = canOperateOn(current)
        ? applyToTarget(
            current,
            { ...draft, seq: Number.MAX_SAFE_INTEGER },
            maxTargetBytes === undefined ? {} : { maxBytes: maxTargetBytes },
          )
        : undefined;
      if (read === undefined || next === undefined || typeof next === 'string') {
        // Nothing to store; a retry of an operation stored already is still a duplicate.
        const stored = await d.findByClientId(conversationId, draft.senderId, draft.clientMsgId);
        if (stored !== undefined) return { state: 'duplicate', message: stored };
        return typeof next === 'string' ? { state: next } : { state: 'not_found' };
      }
      const { version: _v, ...state } = next;
      const r = (await d.redis.parleyApplyOperation(
        k.meta,
        k.log,
        k.reads,
        k.idemIndex,
        d.idemKey(conversationId, draft.senderId, draft.clientMsgId),
        d.leaseKey(conversationId, draft.senderId, draft.clientMsgId),
        k.state,
        JSON.stringify(draft),
        String(draft.createdAt),
        String(d.now()),
        String(d.maxMessages),
        String(d.maxAgeMs),
        String(d.idemTtl),
        d.newEpoch(),
        d.channel(conversationId),
        origin === undefined ? '' : JSON.stringify(origin),
        origin ?? '',
        String(d.idemMax),
        targetSeq,
        read.epoch,
        read.json,
        JSON.stringify(state),
      )) as unknown[];
      const code = Number(r[0]);
      if (code === 0) {
        return {
          state: 'stored',
          message: JSON.parse(str(r[2])) as Message,
          target: JSON.parse(str(r[3])) as Message,
        };
      }
      if (code === 1) return { state: 'duplicate', message: JSON.parse(str(r[2])) as Message };
      if (code === 3) return { state: 'not_found' };
      // Another process's operation on the same message won the round: pause a little (full
      // jitter) instead of colliding again at once.
      const pause = Math.random() * Math.min(OPERATION_BACKOFF_MS, attempt + 1);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    throw new Error('parley redis engine: the target kept changing; operation not stored');
  };

  // One operation per message at a time on this process.
  const perTarget = new Map<string, Promise<void>>();

  return {
    applyOperation(input) {
      const key = `${input.draft.conversationId}\u0000${input.draft.target ?? 0}`;
      const run = (perTarget.get(key) ?? Promise.resolve()).then(() => applyNow(input));
      const settled = run.then(
        () => {},
        () => {},
      );
      perTarget.set(key, settled);
      void settled.then(() => {
        if (perTarget.get(key) === settled) perTarget.delete(key);
      });
      return run;
    },

    async message(conversationId, seq) {
      const read = await readMessage(conversationId, String(seq));
      return read === undefined ? undefined : (JSON.parse(read.json) as Message);
    },
  };
}
