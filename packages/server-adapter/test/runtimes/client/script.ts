/**
 * `@parley/client` under Bun or Deno (the same file for both): a client of a hub that the test
 * (client.test.ts) runs in Node. It connects, sends, and reports every state change and every
 * message of `c1` as JSON lines on stdout, until stdin closes. The test drives the rest (server
 * publishes, a cut link) and checks what it reports: the resume happens on the runtime's side.
 *
 * argv: <hub url> <token> <"global" | "default">: the runtime's global `WebSocket`, or the
 * client's default (isomorphic-ws).
 */
import { createClient } from '@parley/client';

declare const Bun: { stdin: { stream(): ReadableStream<Uint8Array> } } | undefined;
declare const Deno: { stdin: { readable: ReadableStream<Uint8Array> }; args: string[] } | undefined;

const args = typeof Deno !== 'undefined' ? Deno.args : process.argv.slice(2);
const [url, token, impl] = args as [string, string, string];
const say = (event: object) => console.log(JSON.stringify(event));

const client = createClient({
  url,
  token,
  ...(impl === 'global' ? { WebSocket: globalThis.WebSocket } : {}),
  // Reconnect at once after the test cuts the link.
  reconnect: { minDelayMs: 10, maxDelayMs: 50 },
});
client.on('state', ({ to, code }) => say({ event: 'state', to, code }));
const c1 = client.conversation('c1');
let reported = 0;
c1.on('update', () => {
  const stored = c1.messages.filter((m) => m.status === 'sent');
  for (const m of stored.slice(reported)) say({ event: 'message', seq: m.seq, text: m.text });
  reported = stored.length;
});

const sent = await c1.send(`hello from ${typeof Deno !== 'undefined' ? 'deno' : 'bun'}`);
say({ event: 'sent', seq: sent.seq, id: sent.id });

// Runs until the test closes stdin.
const stdin = typeof Deno !== 'undefined' ? Deno.stdin.readable : Bun!.stdin.stream();
const reader = stdin.getReader();
while (!(await reader.read()).done) {}
client.close();
say({ event: 'closed' });
