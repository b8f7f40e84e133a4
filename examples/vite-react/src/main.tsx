import { ParleyProvider } from '@parley/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Chat } from './Chat.js';
import { kit, startMockBackend } from './mock.js';

await startMockBackend();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {/* The provider creates alice's client after mounting and closes it on unmount. */}
    <ParleyProvider options={kit.options('alice')}>
      <Chat conversationId="alice-bob" peer="bob" />
    </ParleyProvider>
  </StrictMode>,
);
