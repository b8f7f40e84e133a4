/** Avatars of people (initials, colour, presence dot) and of conversations. */
import { presenceKnown } from './connectivity.js';
import { h, ICON, svg } from './dom.js';
import { initials } from './format.js';
import { app, type ConversationMeta, currentState, peerOf, userName } from './state.js';

export function avatar(
  userId: string,
  opts: { size?: 'sm' | 'md' | 'lg'; presence?: boolean } = {},
): HTMLElement {
  const u = app.users.get(userId);
  const known = presenceKnown(currentState());
  const online = known && app.client?.presence(userId)?.online === true;
  const label = known
    ? online
      ? 'Online'
      : 'Offline'
    : 'Presence unknown while you are not connected';
  return h(
    'span',
    {
      class: `avatar ${opts.size ?? 'md'}`,
      style: `--c:${u?.color ?? '#94a3b8'}`,
      title: userName(userId),
    },
    initials(userName(userId)),
    opts.presence &&
      h('span', {
        class: `presence ${known ? (online ? 'on' : 'off') : 'unknown'}`,
        'data-testid': 'presence-dot',
        'data-online': known ? String(online) : 'unknown',
        title: label,
      }),
  );
}

export function convAvatar(meta: ConversationMeta | undefined): HTMLElement {
  if (meta?.kind === 'dm') {
    const peer = peerOf(meta);
    if (peer) return avatar(peer, { presence: true });
  }
  return h(
    'span',
    { class: `avatar md ${meta?.kind ?? 'group'}` },
    svg(meta?.kind === 'support' ? ICON.headset : ICON.hash),
  );
}
