/** Marks the open conversation read while the page is visible. */
import { app } from './state.js';

export function markOpenRead(): void {
  const { client, openId } = app;
  if (!client || !openId || document.visibilityState !== 'visible') return;
  const c = client.conversation(openId);
  if (c.unreadCount > 0 || c.readSeq < c.seq) c.markRead();
}
