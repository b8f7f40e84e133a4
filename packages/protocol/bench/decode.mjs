// Micro-benchmark of inbound frame decoding (not a test): ns per frame for the frames the hub
// decodes most, through the Zod path (JSON.parse + schema.safeParse, what decodeClientFrame did
// for every frame) and through decodeClientFrame (which now tries the hand-written checker first).
// Uses the built package: `pnpm --filter @parley/protocol build && node packages/protocol/bench/decode.mjs`
// Options: --n <frames per round> (default 200000), --rounds <n> (default 7; the median is
// reported), --before <dir>: also time decodeClientFrame from another build's dist (e.g. one built
// before a change), interleaved with this one so that machine load hits both alike.
import { clientFrameSchemas, decodeClientFrame } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const N = arg('n', 200_000);
const ROUNDS = arg('rounds', 7);
const beforeDir = process.argv.includes('--before')
  ? process.argv[process.argv.indexOf('--before') + 1]
  : undefined;
const before = beforeDir
  ? (await import(new URL(`file://${beforeDir.replace(/\/$/, '')}/index.js`).href))
      .decodeClientFrame
  : undefined;

// The hub receives ws Buffers; a typical send carries ~100 bytes of text.
const frames = {
  'send (100-byte text)': {
    type: 'send',
    ref: 'r1842',
    conversationId: 'conv-00417',
    clientMsgId: '6f1c7a1e-1b2c-4d5e-8f90-123456789abc',
    text: 'The quick brown fox jumps over the lazy dog; the five boxing wizards jump quickly. Ok, 100 bytes!!',
  },
  'send + data': {
    type: 'send',
    ref: 'r1843',
    conversationId: 'conv-00417',
    clientMsgId: '6f1c7a1e-1b2c-4d5e-8f90-123456789abd',
    text: 'hello @bob',
    data: { mentions: ['bob'], format: { bold: [0, 5] } },
    replyTo: 41,
  },
  typing: { type: 'typing', conversationId: 'conv-00417', state: 'start' },
  read: { type: 'read', ref: 'r1844', conversationId: 'conv-00417', seq: 4242 },
  ping: { type: 'ping', ref: 'r1845' },
};

const say = (line) => process.stdout.write(`${line}\n`);
let sink = 0;
const zodPath = (buf) => {
  const obj = JSON.parse(buf.toString('utf8'));
  const r = clientFrameSchemas[obj.type].safeParse(obj);
  if (!r.success) throw new Error('invalid');
  return r.data;
};
const codec = (buf) => decodeClientFrame(buf);
const parseOnly = (buf) => JSON.parse(buf.toString('utf8'));

function time(fn, buf) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += fn(buf).type.length;
  return Number(process.hrtime.bigint() - t0) / N;
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const paths = {
  'JSON.parse only': parseOnly,
  'Zod path': zodPath,
  ...(before ? { 'decodeClientFrame (before)': (buf) => before(buf) } : {}),
  decodeClientFrame: codec,
};
say(`node ${process.version}, ${N} frames × ${ROUNDS} rounds, median ns/frame`);
for (const [name, frame] of Object.entries(frames)) {
  const buf = Buffer.from(JSON.stringify(frame));
  const samples = Object.fromEntries(Object.keys(paths).map((p) => [p, []]));
  for (const fn of Object.values(paths)) time(fn, buf); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [p, fn] of Object.entries(paths)) samples[p].push(time(fn, buf)); // interleaved
  }
  const cells = Object.keys(paths).map((p) => `${p} ${median(samples[p]).toFixed(0)}`);
  say(`${name.padEnd(22)} ${String(buf.length).padStart(4)} B  ${cells.join('  ')}`);
}
if (sink === 0) say('');
