/** The composer under the open conversation: a growing textarea, Enter sends, typing signals. */
import type { Conversation } from '@parley/client';
import { h, ICON, svg } from './dom.js';

export interface Composer {
  /** The composer's row (textarea and send button). */
  box: HTMLElement;
  input: HTMLTextAreaElement;
}

/**
 * The composer for conversation `c`, with `placeholder`; `onSent` runs after each send (the view
 * scrolls to the bottom).
 */
export function createComposer(c: Conversation, placeholder: string, onSent: () => void): Composer {
  const input = h('textarea', {
    class: 'composer-input',
    rows: 1,
    placeholder,
    'data-testid': 'composer-input',
  }) as HTMLTextAreaElement;
  const send = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize(input);
    c.send(text).catch(() => undefined); // failures show on the message (status: failed, retry)
    onSent();
  };
  input.addEventListener('input', () => {
    autosize(input);
    if (input.value.trim()) c.typing();
    else c.stopTyping();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      send();
    }
  });
  input.addEventListener('blur', () => c.stopTyping());
  const box = h(
    'div',
    { class: 'composer-box' },
    input,
    h(
      'button',
      {
        class: 'btn primary send',
        'data-testid': 'send-button',
        title: 'Send (Enter)',
        onclick: send,
      },
      svg(ICON.send),
      h('span', { class: 'label' }, 'Send'),
    ),
  );
  return { box, input };
}

function autosize(t: HTMLTextAreaElement): void {
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
}
