/**
 * Finds Debian's Chromium for the real-browser tests. Outside CI a missing browser skips the tests
 * with a loud warning; under CI=true it is an error (CI installs `chromium`).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
].filter((p): p is string => typeof p === 'string' && p !== '');

export const chromiumPath: string | undefined = CANDIDATES.find((p) => existsSync(p));
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

if (chromiumPath === undefined) {
  if (isCI) {
    throw new Error(
      `e2e: no Chromium found (looked at ${CANDIDATES.join(', ')}); CI must install it (apt-get install -y chromium)`,
    );
  }
  console.warn(
    `\n${'!'.repeat(78)}\n!! e2e: SKIPPING the real-browser tests: no Chromium at ${CANDIDATES.join(', ')}.\n!! Install it (apt-get install -y chromium) or set CHROMIUM_PATH to run them.\n${'!'.repeat(78)}\n`,
  );
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath!,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
