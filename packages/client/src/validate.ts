/**
 * Local validation of a send: what the server would reject for sure is rejected before queueing.
 * (The frame size is checked exactly, on the encoded frame, by the outbox.)
 */
import { isJsonValue, type JsonValue, type Limits, textLength } from '@parley/protocol/core';
import { ServerError } from './errors.js';

/**
 * Returns the error a send (or an edit) would get, or `undefined` when it may be queued. An
 * operation's `target` and `emoji` are checked by the hub (a typed `invalid_frame` error).
 */
export function validateSend(
  conversationId: string,
  { text, data }: { text: string; data?: JsonValue | undefined },
  limits: { maxTextLength: number },
): ServerError | undefined {
  if (
    conversationId.length < 1 ||
    conversationId.length > (128 satisfies typeof Limits.MAX_ID_LENGTH)
  ) {
    return new ServerError('invalid_frame', 'invalid conversation id', {
      field: 'conversationId',
    });
  }
  if (typeof text !== 'string') {
    return new ServerError('invalid_frame', 'text must be a string', { field: 'text' });
  }
  const maxText = Math.min(limits.maxTextLength, 10_000 satisfies typeof Limits.MAX_TEXT_LENGTH);
  if (textLength(text) > maxText) {
    return new ServerError('too_large', `text is longer than ${maxText} code points`, {
      field: 'text',
    });
  }
  if (data !== undefined && !isJsonValue(data)) {
    return new ServerError('invalid_frame', 'data must be JSON', { field: 'data' });
  }
  return undefined;
}
