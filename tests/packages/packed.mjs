// @ts-check
/**
 * The packages as npm users get them: `pnpm pack` of every workspace package (what `pnpm publish`
 * would upload, with the `publishConfig` overrides applied and `workspace:` ranges replaced), and
 * scratch apps OUTSIDE the workspace that `npm install` those tarballs.
 *
 * Used by `pnpm check:packages` (tests/packages/check.mjs), the install test beside this file,
 * the client's bundle-size script and test, and the benchmark's bundle scenario. Everything is
 * cached by content: a tarball is re-packed only when a file it ships changed, a scratch app is
 * re-installed only when a tarball or a dependency range changed. Concurrent callers (vitest runs
 * test files in parallel) each build into a private directory and move it into place with one
 * atomic rename, so nobody ever sees a half-written tarball or a half-installed app.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The workspace root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where tarballs are kept between runs (ignored by git: under node_modules). */
export const PACK_DIR = join(ROOT, 'node_modules', '.cache', 'parley-packed');
/** The private export condition that resolves workspace packages to their TypeScript sources. */
export const PRIVATE_CONDITION = '@parley/source';
/** Deadline for one `pnpm pack` or `npm install`. */
const COMMAND_TIMEOUT_MS = 300_000;

/** Thrown when a package has no build, or a build older than its sources. */
export class StaleBuildError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'StaleBuildError';
    this.code = 'stale_build';
  }
}

/**
 * @typedef {{ name: string, version: string, dir: string, manifest: Record<string, any> }} WorkspacePackage
 * @typedef {WorkspacePackage & { tarball: string }} PackedPackage
 */

/** @returns {WorkspacePackage[]} every publishable package under packages/, sorted by name */
export function workspacePackages() {
  const base = join(ROOT, 'packages');
  return readdirSync(base)
    .map((d) => join(base, d))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name, version: manifest.version, dir, manifest };
    })
    .filter((p) => p.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** @param {string} path @returns {string[]} every file under `path` (or `path` itself) */
function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    e.name === 'node_modules' ? [] : filesUnder(join(path, e.name)),
  );
}

/** @param {string[]} files @returns {number} the newest modification time among `files` */
const newest = (files) => Math.max(0, ...files.map((f) => statSync(f).mtimeMs));

/**
 * Why `pkg`'s dist cannot be packed as is — missing, or older than what it is built from — or
 * null when it is up to date. Measuring or checking an old build would report on code that is
 * not the code under review.
 * @param {WorkspacePackage} pkg
 * @returns {string | null}
 */
export function buildProblem(pkg) {
  const dist = filesUnder(join(pkg.dir, 'dist'));
  const rel = relative(ROOT, pkg.dir);
  if (dist.length === 0) return `${pkg.name} has no build (${rel}/dist)`;
  const inputs = [
    ...filesUnder(join(pkg.dir, 'src')),
    join(pkg.dir, 'tsup.config.ts'),
    join(pkg.dir, 'tsconfig.json'),
    join(ROOT, 'tsup.base.ts'),
    join(ROOT, 'tsconfig.base.json'),
  ].filter((f) => existsSync(f));
  const oldestDist = Math.min(...dist.map((f) => statSync(f).mtimeMs));
  return newest(inputs) > oldestDist ? `${pkg.name}: ${rel}/dist is older than its sources` : null;
}

/** @param {WorkspacePackage} pkg */
function assertBuilt(pkg) {
  const problem = buildProblem(pkg);
  if (problem) throw new StaleBuildError(`${problem}: run \`pnpm build\` first`);
}

/**
 * A hash of everything that goes into the tarball: the files it ships, the root LICENSE (packed
 * when the package has none) and the versions that replace its `workspace:` ranges.
 * @param {WorkspacePackage} pkg @param {WorkspacePackage[]} all
 * @returns {string}
 */
function fingerprint(pkg, all) {
  const shipped = ['package.json', 'README.md', 'LICENSE', ...(pkg.manifest.files ?? [])].flatMap(
    (f) => filesUnder(join(pkg.dir, f)),
  );
  const h = createHash('sha256');
  h.update(readFileSync(join(ROOT, 'LICENSE')));
  h.update(JSON.stringify(all.map((p) => [p.name, p.version])));
  for (const f of shipped.sort()) {
    h.update(relative(pkg.dir, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Removes the entries of `dir` named `prefix` + a content hash except `keep` (older tarballs,
 * older scratch apps); in-progress `.work-` entries do not match.
 * @param {string} dir @param {string} prefix @param {string} keep
 */
function prune(dir, prefix, keep) {
  for (const name of readdirSync(dir)) {
    // Exactly `<prefix><hash>[.tgz]`: the `client` app's prefix is also the start of `client-plus-…`.
    const ours =
      name.startsWith(prefix) && /^[0-9a-f]{16}(\.tgz)?$/.test(name.slice(prefix.length));
    if (ours && name !== keep) {
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Moves a directory or file built privately into its final place. Losing the race to another
 * process that built the same content is fine: ours is thrown away.
 * @param {string} from @param {string} to
 */
function publish(from, to) {
  try {
    renameSync(from, to);
  } catch (e) {
    if (!existsSync(to)) throw e;
    rmSync(from, { recursive: true, force: true });
  }
}

/**
 * Packs every workspace package (or reuses the tarball of identical content).
 * @returns {Promise<PackedPackage[]>}
 */
export async function packAll() {
  const pkgs = workspacePackages();
  for (const p of pkgs) assertBuilt(p);
  mkdirSync(PACK_DIR, { recursive: true });
  return Promise.all(
    pkgs.map(async (p) => {
      const base = `${p.name.replace('@', '').replace('/', '-')}-${p.version}`;
      const file = `${base}-${fingerprint(p, pkgs)}.tgz`;
      const tarball = join(PACK_DIR, file);
      if (!existsSync(tarball)) {
        const work = join(PACK_DIR, `.work-${randomBytes(6).toString('hex')}`);
        mkdirSync(work);
        try {
          await run('pnpm', ['pack', '--pack-destination', work], {
            cwd: p.dir,
            timeout: COMMAND_TIMEOUT_MS,
          });
          publish(join(work, `${base}.tgz`), tarball);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
        prune(PACK_DIR, `${base}-`, file);
      }
      return { ...p, tarball };
    }),
  );
}

/**
 * The `package.json` inside a tarball.
 * @param {string} tarball @returns {Promise<Record<string, any>>}
 */
export async function packedManifest(tarball) {
  const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json'], {
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout);
}

/**
 * A scratch app outside the workspace in which `npm install` installed `tarballs` plus `deps`
 * (name → range), exactly as a user's app would get them. Cached by content in the OS temp dir.
 * @param {{ name: string, tarballs: string[], deps?: Record<string, string> }} options
 * @returns {Promise<string>} the app's directory
 */
export async function scratchApp({ name, tarballs, deps = {} }) {
  const key = createHash('sha256')
    .update(JSON.stringify({ tarballs: tarballs.map((t) => t.split(sep).pop()).sort(), deps }))
    .digest('hex')
    .slice(0, 16);
  // Named after this checkout too, so that two checkouts on one machine never prune each other's.
  const checkout = createHash('sha256').update(ROOT).digest('hex').slice(0, 8);
  const prefix = `parley-scratch-${checkout}-${name}-`;
  const dir = join(tmpdir(), `${prefix}${key}`);
  if (relative(ROOT, dir).split(sep)[0] !== '..') {
    throw new Error(`the scratch app must live outside the workspace, not in ${dir}`);
  }
  if (existsSync(join(dir, '.installed'))) return dir;
  const work = `${dir}.work-${randomBytes(6).toString('hex')}`;
  mkdirSync(work, { recursive: true });
  try {
    writeFileSync(
      join(work, 'package.json'),
      `${JSON.stringify({ name: `scratch-${name}`, private: true }, null, 2)}\n`,
    );
    const specs = [...tarballs, ...Object.entries(deps).map(([n, r]) => `${n}@${r}`)];
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs],
      { cwd: work, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 << 20 },
    );
    writeFileSync(join(work, '.installed'), `${new Date().toISOString()}\n`);
    publish(work, dir);
    prune(tmpdir(), prefix, `${prefix}${key}`);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
