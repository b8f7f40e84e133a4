/**
 * The connection state the page shows. The client's own state, except that the browser saying it
 * is offline wins at once: on `offline` the client only probes its socket and waits for the
 * heartbeat verdict (up to `heartbeat.timeoutMs`), which would leave "Live" on screen for seconds
 * after the network is gone. Presence is only known while live: the hub stops telling us about
 * others once we are disconnected, so showing the last value as "Online" would be a guess.
 */
import type { ConnectionState } from '@parley/client';

export function shownState(
  clientState: ConnectionState,
  online: boolean = navigator.onLine,
): ConnectionState {
  if (clientState === 'closed') return clientState;
  return online ? clientState : 'offline';
}

/** Whether what the client knows about others' presence is current. */
export function presenceKnown(state: ConnectionState): boolean {
  return state === 'open';
}
