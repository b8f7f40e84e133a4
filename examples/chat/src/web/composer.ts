/**
 * The composer under the open conversation: a growing textarea (Enter sends), typing signals,
 * the message being answered (quoted above it), and an image button (upload, then send the
 * message with the upload in `data.attachment`).
 */
import type { Conversation, StoredMessage } from '@parley/client';
import { ACCEPT, upload } from './attachments.js';
import { h, ICON, svg } from './dom.js';
import { summaryText } from './message-parts.js';
import { app, userName } from './state.js';

export interface Composer {
  /** The composer (reply banner, notice, and the row with the textarea and buttons). */
  box: HTMLElement;
  input: HTMLTextAreaElement;
  /** Answer `m` with the next message (undefined: no longer). */
  replyTo(m: StoredMessage | undefined): void;
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
  const banner = h('div', { class: 'reply-banner hidden', 'data-testid': 'reply-banner' });
  const notice = h('div', { class: 'composer-notice hidden', 'data-testid': 'composer-notice' });
  const show = (text: string | undefined) => {
    notice.textContent = text ?? '';
    notice.classList.toggle('hidden', text === undefined);
  };
  const replyTo = (m: StoredMessage | undefined) => {
    app.replyTo = m?.seq;
    banner.classList.toggle('hidden', m === undefined);
    banner.replaceChildren(
      ...(m
        ? [
            svg(ICON.reply),
            h(
              'span',
              { class: 'reply-target' },
              h('strong', {}, `Replying to ${userName(m.senderId)}`),
              h('span', {}, summaryText(m)),
            ),
            h(
              'button',
              {
                class: 'icon-btn xs',
                type: 'button',
                title: 'Cancel reply',
                'aria-label': 'Cancel reply',
                'data-testid': 'reply-cancel',
                onclick: () => replyTo(undefined),
              },
              svg(ICON.close),
            ),
          ]
        : []),
    );
    if (m) input.focus();
  };
  /** Sends the text (and `data`); answers the quoted message, if any. */
  const post = (text: string, data?: StoredMessage['data']) => {
    const answer = app.replyTo;
    replyTo(undefined);
    c.send(text, {
      ...(data === undefined ? {} : { data }),
      ...(answer === undefined ? {} : { replyTo: answer }),
    }).catch(() => undefined); // failures show on the message (status: failed, retry)
    onSent();
  };
  const send = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    autosize(input);
    post(text);
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
    } else if (ev.key === 'Escape' && app.replyTo !== undefined) replyTo(undefined);
  });
  input.addEventListener('blur', () => c.stopTyping());

  const file = h('input', {
    type: 'file',
    accept: ACCEPT,
    class: 'sr-only',
    tabindex: -1,
    'data-testid': 'attach-input',
  }) as HTMLInputElement;
  const attach = h(
    'button',
    {
      class: 'icon-btn attach',
      type: 'button',
      title: 'Attach an image',
      'aria-label': 'Attach an image',
      'data-testid': 'attach-button',
      onclick: () => file.click(),
    },
    svg(ICON.image),
  ) as HTMLButtonElement;
  file.addEventListener('change', () => {
    const picked = file.files?.[0];
    file.value = '';
    if (!picked) return;
    attach.disabled = true;
    show(`Uploading ${picked.name}…`);
    upload(picked)
      .then((a) => {
        show(undefined);
        // The caption is what is typed, if anything.
        const caption = input.value.trim();
        input.value = '';
        autosize(input);
        post(caption, { attachment: { ...a } });
      })
      .catch((err: unknown) =>
        show(`Not sent: ${err instanceof Error ? err.message : 'upload failed'}`),
      )
      .finally(() => {
        attach.disabled = false;
      });
  });

  const row = h(
    'div',
    { class: 'composer-box' },
    attach,
    file,
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
  return { box: h('div', { class: 'composer-stack' }, banner, notice, row), input, replyTo };
}

function autosize(t: HTMLTextAreaElement): void {
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
}
