/**
 * Helpers the demo's browser tests share: driving the page through its `data-testid`s, waiting on
 * the page itself (selectors / functions with timeouts, never a sleep), and screenshots.
 *
 * Screenshots always go to e2e/artifacts/ (git-ignored run output). The ones the README shows live
 * in docs/images/ and are rewritten only on purpose: `npx pnpm@9.15.9 screenshots` (which sets
 * PARLEY_UPDATE_SCREENSHOTS=1), so running the tests never dirties the tree.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
export const DOC_IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));
const UPDATE_DOC_IMAGES = process.env.PARLEY_UPDATE_SCREENSHOTS === '1';

/** Default deadline of a wait on the page. */
export const WAIT = 15_000;

/**
 * Saves a screenshot of `page` as e2e/artifacts/`name`; with PARLEY_UPDATE_SCREENSHOTS=1 and
 * `doc: true`, also as docs/images/`name` (the committed copy the README shows).
 */
export async function screenshot(page: Page, name: string, doc = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}` });
  if (doc && UPDATE_DOC_IMAGES) copyFileSync(`${ARTIFACTS}${name}`, `${DOC_IMAGES}${name}`);
}

/**
 * Installed before the page's scripts: records the page's WebSockets so that a test can cut the
 * live one (Chromium's offline emulation does not close an already open WebSocket).
 */
export const TRACK_SOCKETS = () => {
  const Native = window.WebSocket;
  const sockets: WebSocket[] = [];
  class Tracked extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  (window as unknown as { __sockets: WebSocket[] }).__sockets = sockets;
  window.WebSocket = Tracked;
};

/** Closes every WebSocket the page opened (see {@link TRACK_SOCKETS}). */
export const cutSockets = (page: Page) =>
  page.evaluate(() => {
    for (const s of (window as unknown as { __sockets: WebSocket[] }).__sockets) s.close();
  });

/** The connection pill says `state` (`live`, `reconnecting`, `offline`, `connecting`). */
export const connection = (page: Page, state: string, timeout = WAIT) =>
  page
    .locator(`[data-testid="connection-state"][data-state="${state}"]`)
    .waitFor({ state: 'attached', timeout });

export const live = (page: Page, timeout = WAIT) => connection(page, 'live', timeout);

export async function signIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId(`signin-${user}`).click();
  await page
    .getByTestId('current-user')
    .and(page.locator(`[data-user-id="${user}"]`))
    .waitFor({ state: 'attached' });
  await live(page);
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
}

/** Texts of the open conversation's messages, in display order. */
export const texts = (page: Page) =>
  page.$$eval('[data-testid="conversation"] [data-testid="message-text"]', (els) =>
    els.map((e) => e.textContent ?? ''),
  );

/** Waits until the open conversation ends with exactly `expected` (in order). */
export async function waitForTail(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const got = [
        ...document.querySelectorAll('[data-testid="conversation"] [data-testid="message-text"]'),
      ].map((e) => e.textContent);
      return JSON.stringify(got.slice(-want.length)) === JSON.stringify(want);
    },
    expected,
    { timeout: WAIT },
  );
}

/** The message element of the open conversation with exactly this text. */
export const message = (page: Page, text: string) =>
  page
    .locator('[data-testid="conversation"] [data-testid="message"]')
    .filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
