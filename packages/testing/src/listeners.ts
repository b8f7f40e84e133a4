/**
 * Listener counting for leak checks ("unmounting released every listener"): the number of
 * listeners on a client and on each of its conversations.
 */
import type { ParleyClient } from '@parley/client';
import type { EventSchemas } from '@parley/protocol';

/** Anything with the client's public `listenerCount()`: a client or a conversation. */
interface CountingEmitter {
  listenerCount(event?: string): number;
}

/** Total listeners registered on one emitter (a client or a conversation). */
export function listenerCount(emitter: CountingEmitter): number {
  return emitter.listenerCount();
}

/** Listeners per emitter: `{ client: n, 'conversation:c1': n, … }` (conversations with none omitted). */
export function listenerCounts<E extends EventSchemas>(
  client: ParleyClient<E>,
): Record<string, number> {
  const out: Record<string, number> = { client: listenerCount(client) };
  for (const c of client.conversations()) {
    const n = listenerCount(c);
    if (n > 0) out[`conversation:${c.id}`] = n;
  }
  return out;
}
