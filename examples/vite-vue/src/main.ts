import { createParley } from '@parley/vue';
import { createApp, h } from 'vue';
import { Chat } from './Chat.js';
import { kit, startMockBackend } from './mock.js';

await startMockBackend();

createApp({ render: () => h(Chat, { conversationId: 'alice-bob', peer: 'bob' }) })
  // The plugin creates alice's client; the first mounted composable connects it.
  .use(createParley(kit.options('alice')))
  .mount('#app');
