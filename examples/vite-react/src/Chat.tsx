/** The chat screen: one conversation, optimistic sends, typing, read state, presence. */
import {
  useConnectionState,
  useConversation,
  useParleyClientOrNull,
  usePresence,
} from '@parley/react';
import { type FormEvent, useEffect, useState } from 'react';

export interface ChatProps {
  conversationId: string;
  /** The other member, for the presence dot. */
  peer: string;
}

export function Chat({ conversationId, peer }: ChatProps) {
  const me = useParleyClientOrNull()?.userId;
  const state = useConnectionState();
  const presence = usePresence(peer);
  const { messages, send, typing, typingUsers, markRead, unreadCount } =
    useConversation(conversationId);
  const [draft, setDraft] = useState('');

  // The screen is visible: everything shown is read.
  useEffect(() => {
    if (unreadCount > 0) markRead();
  }, [unreadCount, markRead]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    setDraft('');
    // Optimistic: the message is in `messages` at once; failures stay visible as `failed`.
    send(text).catch(() => {});
  };

  return (
    <main>
      <header>
        <strong>
          {peer} {presence?.online ? '●' : '○'}
        </strong>
        <span className="state" data-state={state} data-testid="connection">
          {state}
        </span>
      </header>
      <ol aria-label="messages">
        {messages.map((m) => (
          <li
            key={m.clientMsgId}
            className={m.senderId === me ? 'mine' : undefined}
            data-status={m.status}
          >
            {m.text}
            {m.status !== 'sent' && <small>{m.status}</small>}
          </li>
        ))}
      </ol>
      <p className="typing" role="status">
        {typingUsers.length > 0 ? `${typingUsers.join(', ')} is typing…` : ''}
      </p>
      <form onSubmit={submit}>
        <input
          aria-label="message"
          value={draft}
          placeholder="Write a message"
          onChange={(e) => {
            setDraft(e.target.value);
            typing();
          }}
        />
        <button type="submit">Send</button>
      </form>
    </main>
  );
}
