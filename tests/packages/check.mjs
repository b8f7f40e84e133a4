#!/usr/bin/env node
// @ts-check
/**
 * `pnpm check:packages`: packs every package (tests/packages/packed.mjs) and checks the TARBALLS,
 * i.e. what `pnpm publish` would upload, not the workspace folders:
 *
 * - publint --strict;
 * - are-the-types-wrong with the `strict` profile: node10, node16 (from CJS and from ESM) and
 *   bundler resolution, for every subpath export;
 * - LICENSE present and identical to the repository's (pnpm packs the workspace root's LICENSE
 *   into every package that has none of its own, so there is one file to keep);
 * - `repository` (with `directory`), `homepage` and `bugs` set;
 * - the private `@parley/source` condition (and any `workspace:` range) absent from the packed
 *   package.json; the workspace package.json's `publishConfig.exports` equal to its `exports`
 *   minus that condition, so the two maps cannot drift apart;
 * - no `src/` shipped, and every source map self-contained (`sourcesContent` for every source,
 *   relative paths), since the sources are not in the tarball;
 * - the packed client's browser bundle within its budget (packages/client/scripts/bundle-size.mjs).
 *
 *   node tests/packages/check.mjs              # every package
 *   node tests/packages/check.mjs packages/client   # one package (its `check:package` script)
 *
 * The install test (tests/packages/install.test.ts, run by `pnpm test`) reuses the tarballs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  CLIENT_BUNDLE_BUDGET_BYTES,
  measurePackedClient,
} from '../../packages/client/scripts/bundle-size.mjs';
import { PRIVATE_CONDITION, packAll, ROOT } from './packed.mjs';

const run = promisify(execFile);
const REPOSITORY = 'https://github.com/parley-chat/parley';
const BIN = join(ROOT, 'node_modules', '.bin');

/** @param {string} s */
const say = (s) => process.stdout.write(`${s}\n`);

/**
 * `exports` without the private condition, as it must be published.
 * @param {unknown} v @returns {unknown}
 */
function withoutPrivateCondition(v) {
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== PRIVATE_CONDITION)
      .map(([k, x]) => [k, withoutPrivateCondition(x)]),
  );
}

/** @param {string} dir @returns {string[]} paths relative to `dir` */
function walk(dir, base = dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p)];
  });
}

/**
 * Runs a command; its output becomes the problem when it fails.
 * @param {string} label @param {string} cmd @param {string[]} args
 * @returns {Promise<string | null>}
 */
async function tool(label, cmd, args) {
  try {
    await run(cmd, args, { cwd: ROOT, timeout: 180_000, maxBuffer: 16 << 20 });
    return null;
  } catch (e) {
    const err = /** @type {{ stdout?: string, stderr?: string, message: string }} */ (e);
    return `${label} failed:\n${(err.stdout || '') + (err.stderr || '') || err.message}`;
  }
}

/**
 * @param {import('./packed.mjs').PackedPackage} pkg
 * @returns {Promise<string[]>} the problems found
 */
async function checkPackage(pkg) {
  const problems = [];
  const rel = relative(ROOT, pkg.dir);

  // The workspace manifest: publishConfig.exports is exports minus the private condition.
  const expected = withoutPrivateCondition(pkg.manifest.exports);
  if (JSON.stringify(pkg.manifest.publishConfig?.exports) !== JSON.stringify(expected)) {
    problems.push(
      `${rel}/package.json: publishConfig.exports must equal exports without "${PRIVATE_CONDITION}":\n` +
        JSON.stringify(expected, null, 2),
    );
  }

  const tmp = mkdtempSync(join(tmpdir(), 'parley-check-'));
  try {
    await run('tar', ['-xzf', pkg.tarball, '-C', tmp]);
    const root = join(tmp, 'package');
    const files = walk(root);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const text = JSON.stringify(manifest);

    if (text.includes(PRIVATE_CONDITION)) {
      problems.push(`the packed package.json mentions the private "${PRIVATE_CONDITION}"`);
    }
    if (text.includes('"workspace:'))
      problems.push('the packed package.json has workspace: ranges');
    if (manifest.repository?.url !== `git+${REPOSITORY}.git`) {
      problems.push(`repository.url must be git+${REPOSITORY}.git`);
    }
    if (manifest.repository?.directory !== rel)
      problems.push(`repository.directory must be ${rel}`);
    if (!String(manifest.homepage ?? '').startsWith(REPOSITORY)) {
      problems.push(`homepage must be under ${REPOSITORY}`);
    }
    if (manifest.bugs?.url !== `${REPOSITORY}/issues`) {
      problems.push(`bugs.url must be ${REPOSITORY}/issues`);
    }

    if (!files.includes('LICENSE')) problems.push('no LICENSE in the tarball');
    else if (
      readFileSync(join(root, 'LICENSE'), 'utf8') !== readFileSync(join(ROOT, 'LICENSE'), 'utf8')
    ) {
      problems.push('LICENSE differs from the repository LICENSE');
    }

    const sources = files.filter(
      (f) => f.startsWith('src/') || (/\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.[mc]?ts$/.test(f)),
    );
    if (sources.length) problems.push(`ships sources: ${sources.slice(0, 5).join(', ')}…`);

    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const m = JSON.parse(readFileSync(join(root, map), 'utf8'));
      /** @type {string[]} */
      const sources = m.sources;
      const complete =
        sources.length === 0 ||
        (Array.isArray(m.sourcesContent) &&
          m.sourcesContent.length === sources.length &&
          m.sourcesContent.every((/** @type {unknown} */ c) => typeof c === 'string'));
      if (!complete) problems.push(`${map}: sourcesContent missing (the sources are not shipped)`);
      const absolute = sources.filter((s) => isAbsolute(s) || /^[a-z]+:/i.test(s));
      if (absolute.length) problems.push(`${map}: absolute source paths ${absolute.join(', ')}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const publint = await tool('publint', join(BIN, 'publint'), ['run', pkg.tarball, '--strict']);
  if (publint) problems.push(publint);
  const attw = await tool('attw', join(BIN, 'attw'), [
    pkg.tarball,
    '--profile',
    'strict',
    '--no-definitely-typed',
    '--no-emoji',
    '--no-color',
    '--format',
    'table-flipped',
  ]);
  if (attw) problems.push(attw);
  return problems;
}

const only = process.argv[2] ? resolve(process.argv[2]) : undefined;
const started = Date.now();
const packed = (await packAll()).filter((p) => only === undefined || p.dir === only);
if (packed.length === 0) {
  process.stderr.write(`check:packages: no package at ${only}\n`);
  process.exit(2);
}

let failed = 0;
for (const pkg of packed) {
  const problems = await checkPackage(pkg);
  if (pkg.name === '@parley/client') {
    // The same budget test/bundle.test.ts enforces in `pnpm test`, checked here first.
    const size = await measurePackedClient();
    say(
      `     ${pkg.name} browser bundle (bundle-size.mjs): ${size.min} B min, ${size.gzip} B min+gzip (budget ${CLIENT_BUNDLE_BUDGET_BYTES} B)`,
    );
    if (size.gzip > CLIENT_BUNDLE_BUDGET_BYTES) {
      problems.push(`browser bundle ${size.gzip} B min+gzip > ${CLIENT_BUNDLE_BUDGET_BYTES} B`);
    }
    if (size.offenders.length)
      problems.push(`Node built-ins in the browser bundle: ${size.offenders}`);
  }
  if (problems.length === 0) {
    say(`ok   ${pkg.name} (${basename(pkg.tarball)})`);
  } else {
    failed++;
    say(`FAIL ${pkg.name} (${pkg.tarball})`);
    for (const p of problems) say(`  - ${p.replaceAll('\n', '\n    ')}`);
  }
}
say(
  `check:packages: ${packed.length - failed} of ${packed.length} packages ok (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
process.exit(failed ? 1 : 0);
