/**
 * The one error-to-close mapping every adapter uses, and the wording of HTTP refusals. A socket
 * error never crashes the process: the adapter closes the socket with the code below and the hub
 * cleans up on the close that follows.
 */
import type { UpgradeRejection } from '../../hub/hub.js';

/** Why an upgrade is answered with plain HTTP: the hub's refusals and the adapters' own. */
export type Refusal = UpgradeRejection | { status: 400 | 404 | 426; reason: string };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  503: 'Service Unavailable',
};

/** The reason phrase of a refusal's status. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

/**
 * Maps a socket-level error to the close code the peer sees: 1009 for a frame over the size
 * limit, 1002 for a violation of the WebSocket protocol, 1011 for anything else.
 */
export function closeCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  // `ws` names its errors (and already closes with 1009 itself for frames over maxPayload).
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (typeof code === 'string' && code.startsWith('WS_ERR_')) return 1002;
  const message = err instanceof Error ? err.message : String(err);
  // Runtimes without error codes (Deno, Bun, crossws) say it in the message.
  if (/too (big|large)|max(imum)?[ _]?payload/i.test(message)) return 1009;
  return 1011;
}

/** Closes a socket after an error on it, with the code {@link closeCodeFor} gives. */
export function closeOnError(
  socket: { close(code: number, reason: string): void },
  err: unknown,
): void {
  try {
    socket.close(closeCodeFor(err), 'error');
  } catch {
    // Already closing or closed: the close event reaches the hub anyway.
  }
}
