#!/usr/bin/env node
/**
 * Mutation check of the abuse suite: for each protection, a copy of the hub sources (in a temp
 * dir, the workspace is never touched) gets that protection removed, and the abuse test that
 * guards it must FAIL against the mutant. Vitest is pointed at the copy by a resolver plugin.
 *
 *   node tests/reliability/mutants.mjs            # every mutant
 *   node tests/reliability/mutants.mjs flood      # mutants whose name contains "flood"
 *
 * Exit code 0 when every mutant is killed (its test failed), 1 otherwise.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SRC = join(ROOT, 'packages/server-adapter/src/');

/** Passes the raw client frame (with the fields the schema strips) to the handlers. */
const trustRawFrame = [
  'hub/inbound.ts',
  'conn.enqueue(() => handleFrame(conn, frame));',
  'conn.enqueue(() => handleFrame(conn, { ...JSON.parse(String(data)), ...frame }));',
];

const mutants = [
  {
    // A harmless edit: its test must PASS, proving the harness itself does not fail tests.
    name: 'control: no-op edit (must survive)',
    test: 'wrong Origin',
    control: true,
    edits: [
      [
        'hub/hub.ts',
        'return req.origin === undefined || origins.includes(req.origin);',
        'return req.origin === undefined || origins.includes(req.origin) || false;',
      ],
    ],
  },
  {
    name: 'identity/send: trust senderId from the frame',
    test: 'send: senderId',
    edits: [
      trustRawFrame,
      [
        'hub/handlers.ts',
        '    senderId: userId,\n',
        '    senderId: (f as any).senderId ?? userId,\n',
      ],
    ],
  },
  {
    name: 'identity/read: trust userId from the frame',
    test: 'read: a userId',
    edits: [
      trustRawFrame,
      [
        'hub/handlers.ts',
        '    userId,\n    seq,\n    origin: conn.id,',
        '    userId: (f as any).userId ?? userId,\n    seq,\n    origin: conn.id,',
      ],
    ],
  },
  {
    name: 'identity/typing: trust userId from the frame',
    test: 'typing: a userId',
    edits: [
      trustRawFrame,
      [
        'hub/handlers.ts',
        '    userId: conn.userId!,\n    state: f.state,',
        '    userId: (f as any).userId ?? conn.userId!,\n    state: f.state,',
      ],
    ],
  },
  {
    name: 'identity/event: trust from in the frame',
    test: 'event: a from',
    edits: [
      trustRawFrame,
      ['hub/handlers.ts', /from: userId,/g, 'from: (f as any).from ?? userId,'],
    ],
  },
  {
    name: 'membership: every conversation allowed',
    test: 'send, typing, read, sync, history',
    edits: [['hub/handlers.ts', '? conn.cursors.active(conversationId)', '? true']],
  },
  {
    name: 'membership: events to any user',
    test: 'send, typing, read, sync, history',
    edits: [
      [
        'hub/handlers.ts',
        'const shared = await sharesConversation(conn, to);',
        'const shared = true;',
      ],
    ],
  },
  {
    name: 'presence: everyone is a contact',
    test: 'presence of non-contacts',
    edits: [
      [
        'hub/session.ts',
        'const contacts = [...new Set(memberLists.flat())]',
        "const contacts = ['alice', 'bob', 'carol', 'dave']",
      ],
    ],
  },
  {
    name: 'origin: allow-list ignored',
    test: 'wrong Origin',
    edits: [
      [
        'hub/hub.ts',
        'return req.origin === undefined || origins.includes(req.origin);',
        'return true;',
      ],
    ],
  },
  {
    name: 'expiry: token expiry never closes',
    test: 'expired session',
    edits: [
      [
        'hub/timers.ts',
        "() => this.owner.close(CloseCode.Unauthenticated, 'token expired'),",
        '() => {},',
      ],
    ],
  },
  {
    name: 'flood: rate limit off',
    test: 'rate_limited, then 4429',
    edits: [['hub/inbound.ts', 'if (rate.ok) return true;', 'if (true) return true;']],
  },
  {
    name: 'flood: no 4429 close',
    test: 'rate_limited, then 4429',
    edits: [['hub/inbound.ts', 'if (rate.flood) {', 'if (false) {']],
  },
  {
    name: 'slow reader: no hard limit',
    test: 'slow reader',
    edits: [
      [
        'hub/outbound.ts',
        'if (used + frameBytes(frame, hardLimitBytes - used) > hardLimitBytes) {',
        'if (false) {',
      ],
    ],
  },
  {
    name: 'conversations cap: not enforced',
    test: 'past the default cap',
    edits: [
      [
        'hub/session.ts',
        'if (conversationIds.length > ctx.config.maxConversationsPerUser) {',
        'if (false) {',
      ],
    ],
  },
  {
    name: 'refused upgrade: no error listener on the raw socket',
    test: 'does not raise an uncaught exception',
    edits: [['adapters/shared/ws.ts', "socket.on('error', () => socket.destroy());", '']],
  },
  {
    name: 'hello timeout: never fires',
    test: 'hello never sent',
    edits: [
      ['hub/timers.ts', "() => owner.close(CloseCode.HelloTimeout, 'hello timeout'),", '() => {},'],
    ],
  },
];

const log = (line) => process.stdout.write(`${line}\n`);
const filter = process.argv[2];
let survived = 0;
for (const m of mutants.filter((x) => !filter || x.name.includes(filter))) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-mutant-'));
  const MUT = join(dir, 'src/');
  cpSync(SRC, MUT, { recursive: true });
  for (const [file, from, to] of m.edits) {
    const path = join(MUT, file);
    const before = readFileSync(path, 'utf8');
    const after = before.replace(from, to);
    if (after === before) throw new Error(`${m.name}: pattern not found in ${file}: ${from}`);
    writeFileSync(path, after);
  }
  const config = join(dir, 'vitest.mutant.config.mjs');
  writeFileSync(
    config,
    `import base from ${JSON.stringify(join(ROOT, 'vitest.config.ts'))};
const SRC = ${JSON.stringify(SRC)};
const MUT = ${JSON.stringify(MUT)};
export default {
  ...base,
  root: ${JSON.stringify(ROOT)},
  test: { ...base.test, typecheck: { enabled: false }, testTimeout: 8000 },
  plugins: [{
    name: 'parley-mutant',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      const from = importer && importer.startsWith(MUT) ? SRC + importer.slice(MUT.length) : importer;
      const r = await this.resolve(source, from, { ...options, skipSelf: true });
      if (r && r.id.startsWith(SRC)) return { ...r, id: MUT + r.id.slice(SRC.length) };
      return r;
    },
  }],
};
`,
  );
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--config', config, 'tests/reliability/abuse.test.ts', '-t', m.test],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const out = `${run.stdout}\n${run.stderr}`;
  const ran = /Tests\s+.*\d+ (passed|failed)/.test(out);
  const killed = run.status !== 0 && ran && /\d+ failed/.test(out);
  const ok = m.control ? run.status === 0 && ran : killed;
  if (!ok) survived++;
  log(
    `${killed ? 'KILLED  ' : 'SURVIVED'} ${m.name}  (test: "${m.test}")${ok ? '' : '  <-- UNEXPECTED'}`,
  );
  if (!ok) log(out.split('\n').slice(-30).join('\n'));
  rmSync(dir, { recursive: true, force: true });
}
log(
  survived === 0
    ? 'every mutant was killed (and the control survived)'
    : `${survived} unexpected result(s)`,
);
process.exit(survived === 0 ? 0 : 1);
