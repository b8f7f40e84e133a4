/** The open conversation's header: back button (phone), avatar, title, presence or members. */
import { avatar, convAvatar } from './avatar.js';
import { presenceKnown } from './connectivity.js';
import { h, ICON, svg } from './dom.js';
import { lastSeen } from './format.js';
import { app, currentState, metaOf, peerOf, titleOf } from './state.js';

/** Fills `header` for conversation `id`; `onBack` is the back button's action. */
export function renderHeaderInto(header: HTMLElement, id: string, onBack: () => void): void {
  const { client, session } = app;
  if (!client) return;
  const meta = metaOf(id);
  const known = presenceKnown(currentState());
  let sub: string;
  if (meta?.kind === 'dm') {
    const peer = peerOf(meta)!;
    const p = client.presence(peer);
    if (!known) sub = 'Presence unknown while you are not connected';
    else sub = p?.online ? 'Online' : lastSeen(p?.lastSeenAt);
  } else {
    const members = meta?.members ?? [];
    const online = members.filter(
      (m) => m === session?.user.id || client.presence(m)?.online,
    ).length;
    sub = known ? `${members.length} members · ${online} online` : `${members.length} members`;
  }
  header.replaceChildren(
    h(
      'button',
      {
        class: 'icon-btn back',
        title: 'Back to the inbox',
        'aria-label': 'Back to the inbox',
        'data-testid': 'back-to-inbox',
        onclick: onBack,
      },
      svg(ICON.back),
    ),
    convAvatar(meta),
    h(
      'div',
      { class: 'conv-title' },
      h('h2', { 'data-testid': 'conversation-title' }, titleOf(meta, id)),
      h('span', { class: 'muted', 'data-testid': 'conversation-subtitle' }, sub),
    ),
    ...(meta && meta.kind !== 'dm'
      ? [
          h(
            'div',
            { class: 'members' },
            meta.members.slice(0, 5).map((m) => avatar(m, { size: 'sm', presence: true })),
          ),
        ]
      : []),
  );
}
