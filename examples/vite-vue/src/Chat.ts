/**
 * The chat screen: one conversation, optimistic sends, typing, read state, presence. Written
 * with render functions so the example needs no SFC compiler plugin.
 */
import { useConnectionState, useConversation, useParley, usePresence } from '@parley/vue';
import { defineComponent, h, ref, watchEffect } from 'vue';

export const Chat = defineComponent({
  name: 'ChatScreen',
  props: {
    conversationId: { type: String, required: true },
    /** The other member, for the presence dot. */
    peer: { type: String, required: true },
  },
  setup(props) {
    const client = useParley();
    const state = useConnectionState();
    const presence = usePresence(() => props.peer);
    const { messages, send, typing, typingUsers, markRead, unreadCount } = useConversation(
      () => props.conversationId,
    );
    const draft = ref('');

    // The screen is visible: everything shown is read.
    watchEffect(() => {
      if (unreadCount.value > 0) markRead();
    });

    const submit = (e: Event) => {
      e.preventDefault();
      const text = draft.value.trim();
      if (text === '') return;
      draft.value = '';
      // Optimistic: the message is in `messages` at once; failures stay visible as `failed`.
      send(text).catch(() => {});
    };

    return () =>
      h('main', [
        h('header', [
          h('strong', `${props.peer} ${presence.value?.online ? '●' : '○'}`),
          h(
            'span',
            { class: 'state', 'data-state': state.value, 'data-testid': 'connection' },
            state.value,
          ),
        ]),
        h(
          'ol',
          { 'aria-label': 'messages' },
          messages.value.map((m) =>
            h(
              'li',
              {
                key: m.clientMsgId,
                class: m.senderId === client.userId ? 'mine' : undefined,
                'data-status': m.status,
              },
              [m.text, m.status !== 'sent' ? h('small', m.status) : null],
            ),
          ),
        ),
        h(
          'p',
          { class: 'typing', role: 'status' },
          typingUsers.value.length > 0 ? `${typingUsers.value.join(', ')} is typing…` : '',
        ),
        h('form', { onSubmit: submit }, [
          h('input', {
            'aria-label': 'message',
            placeholder: 'Write a message',
            value: draft.value,
            onInput: (e: Event) => {
              draft.value = (e.target as HTMLInputElement).value;
              typing();
            },
          }),
          h('button', { type: 'submit' }, 'Send'),
        ]),
      ]);
  },
});
