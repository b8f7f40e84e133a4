/** Local validation of a send: what the server would reject for sure is rejected before queueing. */
import { byteLength, ErrorCode, isJsonValue, type JsonValue, Limits } from '@parley/protocol/core';
import { ServerError } from './errors.js';

/** Bytes a `send` frame adds around text and data (type, ids, ref, quotes): a safe upper bound. */
const ENVELOPE_BYTES = 512;

/** Type guard over the protocol's JSON check. */
export function isJson(v: unknown): v is JsonValue {
  return isJsonValue(v);
}

/** Returns the error a send would get, or `undefined` when it may be queued. */
export function validateSend(
  conversationId: string,
  text: string,
  data: JsonValue | undefined,
  limits: { maxFrameBytes: number; maxTextLength: number },
): ServerError | undefined {
  if (conversationId.length < 1 || conversationId.length > Limits.MAX_ID_LENGTH) {
    return new ServerError(ErrorCode.InvalidFrame, 'invalid conversation id', {
      field: 'conversationId',
    });
  }
  if (typeof text !== 'string') {
    return new ServerError(ErrorCode.InvalidFrame, 'text must be a string', { field: 'text' });
  }
  const maxText = Math.min(limits.maxTextLength, Limits.MAX_TEXT_LENGTH);
  if (text.length > maxText) {
    return new ServerError(ErrorCode.TooLarge, `text is longer than ${maxText} characters`, {
      field: 'text',
    });
  }
  if (data !== undefined && !isJsonValue(data)) {
    return new ServerError(ErrorCode.InvalidFrame, 'data must be JSON', { field: 'data' });
  }
  const size =
    byteLength(text) + (data === undefined ? 0 : byteLength(JSON.stringify(data))) + ENVELOPE_BYTES;
  if (size > limits.maxFrameBytes) {
    return new ServerError(
      ErrorCode.TooLarge,
      `message is larger than ${limits.maxFrameBytes} bytes`,
      {
        field: 'text',
      },
    );
  }
  return undefined;
}
