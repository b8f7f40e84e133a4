/**
 * A TypeScript @parley/client for the Python kit's cross-language tests, driven over stdio with
 * JSON lines. Environment: PARLEY_URL, PARLEY_TOKEN, PARLEY_CONVERSATION.
 *
 * Prints: {"event":"open"}, {"event":"message", message}, {"event":"sent", message},
 * {"event":"error", code, message}. Reads: {"op":"send","text"}, {"op":"close"}.
 * Messages from others whose text starts with "echo " are answered with "ts heard: <rest>".
 */
import { createInterface } from 'node:readline';
import { createClient } from '@parley/client';
import WebSocket from 'ws';

const url = process.env.PARLEY_URL!;
const token = process.env.PARLEY_TOKEN!;
const conversationId = process.env.PARLEY_CONVERSATION!;
const print = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify(event)}\n`);

const client = createClient({ url, token, WebSocket: WebSocket as never });
const conversation = client.conversation(conversationId);
const send = (text: string) =>
  conversation.send(text).then(
    (message) => print({ event: 'sent', message }),
    (err: { code?: string; message: string }) =>
      print({ event: 'error', code: err.code, message: err.message }),
  );

client.on('state', ({ to }) => {
  if (to === 'open') print({ event: 'open' });
});
conversation.on('message', (message) => {
  print({ event: 'message', message });
  if (message.senderId !== client.userId && message.text.startsWith('echo ')) {
    void send(`ts heard: ${message.text.slice(5)}`);
  }
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; text?: string };
  if (cmd.op === 'send') void send(cmd.text ?? '');
  if (cmd.op === 'close') {
    client.close();
    process.exit(0);
  }
});
process.stdin.on('end', () => {
  client.close();
  process.exit(0);
});
