/**
 * The demo's token secret, kept in a file so that a restarted `pnpm demo` still accepts the tokens
 * it issued before: open pages show "Reconnecting…", then "Live", instead of signing everyone out.
 * A real app keeps its signing key in its secret store; this file is for local development only
 * (git-ignored, mode 0600).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomSecret } from './token.js';

/** Shortest secret read back from the file; anything shorter is replaced. */
const MIN_LENGTH = 32;

/**
 * The secret stored in `file`, created (with missing directories) on first use. Two processes
 * starting at once agree: the file is created exclusively and the loser reads the winner's.
 */
export async function devSecret(file: string): Promise<string> {
  const existing = await readSecret(file);
  if (existing !== undefined) return existing;
  await mkdir(dirname(file), { recursive: true });
  const secret = randomSecret();
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Another process created it first, or an unusable (too short) one is in the way: replace that.
  const raced = await readSecret(file);
  if (raced !== undefined) return raced;
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

async function readSecret(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text.length >= MIN_LENGTH ? text : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
