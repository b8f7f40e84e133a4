/**
 * The demo chat in a real browser (playwright-core driving Debian's Chromium): two users in two
 * browser contexts against `startChatServer` on port 0. Every wait is on the page itself
 * (selectors / functions with timeouts), never a sleep.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMemoryEngine } from '@parley/server-adapter';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectory, dmId } from '../examples/chat/src/directory.js';
import { type ChatServer, startChatServer } from '../examples/chat/src/server.js';
import { chromiumPath, launchChromium } from './browser.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const DM = dmId('alice', 'bob');
const WAIT = 15_000;

/**
 * Installed before the page's scripts: records the page's WebSockets so that a test can cut the
 * live one (Chromium's offline emulation does not close an already open WebSocket).
 */
const TRACK_SOCKETS = () => {
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

describe.skipIf(chromiumPath === undefined)('demo chat in Chromium', () => {
  const engine = createMemoryEngine(); // outlives server restarts, like a database would
  const directory = createDirectory();
  const secret = 'e2e-secret-kept-across-restarts';
  const hubOptions = { shutdown: { retryJitterMs: 300 } };
  let server: ChatServer;
  let browser: Browser;
  let ctxA: BrowserContext;
  let ctxB: BrowserContext;
  let a: Page; // alice
  let b: Page; // bob

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startChatServer({ engine, directory, secret, hub: hubOptions });
    browser = await launchChromium();
    const contextOptions = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };
    ctxA = await browser.newContext(contextOptions);
    ctxB = await browser.newContext(contextOptions);
    await ctxA.addInitScript(TRACK_SOCKETS);
    await ctxB.addInitScript(TRACK_SOCKETS);
    a = await ctxA.newPage();
    b = await ctxB.newPage();
  }, 60_000);

  afterAll(async () => {
    await ctxA?.close();
    await ctxB?.close();
    await browser?.close();
    await server?.close();
    await engine.close();
  });

  const live = (page: Page) =>
    page.locator('[data-testid="connection-state"][data-state="live"]').waitFor({ timeout: WAIT });

  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(server.url);
    await page.getByTestId(`signin-${user}`).click();
    await page
      .getByTestId('current-user')
      .and(page.locator(`[data-user-id="${user}"]`))
      .waitFor();
    await live(page);
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.getByTestId('composer-input').fill(text);
    await page.getByTestId('composer-input').press('Enter');
  }

  /** Texts of the open conversation's messages, in display order. */
  const texts = (page: Page) =>
    page.$$eval('[data-testid="conversation"] [data-testid="message-text"]', (els) =>
      els.map((e) => e.textContent ?? ''),
    );

  /** Waits until the open conversation ends with exactly `expected` (in order). */
  async function waitForTail(page: Page, expected: string[]): Promise<void> {
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
  const message = (page: Page, text: string) =>
    page
      .locator('[data-testid="conversation"] [data-testid="message"]')
      .filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });

  it('A sends to B: B sees it in the inbox with an unread badge, opens it, A sees "read"', async () => {
    await signIn(a, 'alice');
    await signIn(b, 'bob');
    await a.getByTestId(`inbox-item-${DM}`).click();
    // Bob reads the group meanwhile: the DM is not open.
    await b.getByTestId('inbox-item-launch').click();
    await b.getByTestId('load-older').waitFor();

    const text = 'Are we still on for the go/no-go at 11?';
    await send(a, text);
    await message(a, text).and(a.locator('[data-status="sent"]')).waitFor({ timeout: WAIT });

    const row = b.getByTestId(`inbox-item-${DM}`);
    await row.and(b.locator('[data-unread="1"]')).waitFor({ timeout: WAIT });
    expect(await row.getByTestId('unread-badge').textContent()).toBe('1');
    expect(await row.getByTestId('last-message').textContent()).toBe(text);
    await b.screenshot({ path: `${ARTIFACTS}inbox.png` });

    await row.click();
    await message(b, text).waitFor();
    await row.and(b.locator('[data-unread="0"]')).waitFor();
    await message(a, text).and(a.locator('[data-status="read"]')).waitFor({ timeout: WAIT });
  }, 60_000);

  it('typing in A shows "typing…" in B, and it disappears after A stops', async () => {
    await a.getByTestId('composer-input').pressSequentially('Sounds good, I will bring', {
      delay: 20,
    });
    const indicator = b.getByTestId('typing-indicator');
    await indicator.waitFor({ timeout: WAIT });
    expect(await indicator.textContent()).toContain('Alice is typing');
    await b.screenshot({ path: `${ARTIFACTS}conversation.png` });
    // A stops typing (no more keystrokes): the client sends `stop` after its idle time and B's
    // indicator also expires on its own.
    await indicator.waitFor({ state: 'detached', timeout: 15_000 });
    await a.getByTestId('composer-input').fill('');
  }, 60_000);

  it('B goes offline, A sends 3 messages, B comes back and sees all 3 in order', async () => {
    await ctxB.setOffline(true);
    // Chromium's offline emulation does not close an open WebSocket (it only stops its traffic):
    // the client notices through the `offline` event + its probe (ping, dead after 10 s). Also cut
    // the socket ourselves, in case a browser lets the traffic through.
    await b.evaluate(() => {
      for (const s of (window as unknown as { __sockets: WebSocket[] }).__sockets) s.close();
    });
    await b
      .locator('[data-testid="connection-state"][data-state="offline"]')
      .waitFor({ timeout: WAIT });

    const batch = [
      'Offline 1: agenda is in the doc',
      'Offline 2: pricing is final',
      'Offline 3: see you at 11',
    ];
    for (const t of batch) await send(a, t);
    for (const t of batch) {
      await message(a, t).and(a.locator('[data-status="sent"]')).waitFor({ timeout: WAIT });
    }
    // Still offline: nothing arrived, and the client did not sneak back in.
    expect(await b.locator('[data-testid="connection-state"]').getAttribute('data-state')).toBe(
      'offline',
    );
    expect((await texts(b)).filter((t) => t.startsWith('Offline '))).toEqual([]);

    await ctxB.setOffline(false);
    await live(b);
    await waitForTail(b, batch);
    const got = (await texts(b)).filter((t) => t.startsWith('Offline '));
    expect(got).toEqual(batch);
  }, 60_000);

  it('the server restarts while both pages are open: both reconnect, nothing lost or duplicated', async () => {
    await send(a, 'Before the restart');
    await waitForTail(b, ['Before the restart']);

    await server.close(); // hub.close(): shutdown frame + 1012; the HTTP server is really closed
    for (const p of [a, b]) {
      await p
        .locator('[data-testid="connection-state"]:not([data-state="live"])')
        .waitFor({ timeout: WAIT });
    }
    await send(a, 'Sent while the server was down'); // goes to the outbox (pending)
    await message(a, 'Sent while the server was down')
      .and(a.locator('[data-status="pending"]'))
      .waitFor();

    server = await startChatServer({
      port: server.port,
      engine,
      directory,
      secret,
      hub: hubOptions,
    });
    await live(a);
    await live(b);
    await send(a, 'After the restart');

    const tail = ['Before the restart', 'Sent while the server was down', 'After the restart'];
    await waitForTail(b, tail);
    await waitForTail(a, tail);
    for (const t of tail) {
      await message(a, t).and(a.locator('[data-status="sent"], [data-status="read"]')).waitFor({
        timeout: WAIT,
      });
    }
    for (const page of [a, b]) {
      const all = await texts(page);
      for (const t of [...tail, 'Offline 1: agenda is in the doc']) {
        expect(all.filter((x) => x === t)).toHaveLength(1);
      }
      // Stored messages are shown once each, in seq order, without holes.
      const seqs = (
        await page.$$eval('[data-testid="conversation"] [data-testid="message"]', (els) =>
          els.map((e) => Number(e.getAttribute('data-seq'))),
        )
      ).filter((n) => n > 0);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }

    // A reload stays signed in (token in sessionStorage) and shows the same history.
    await b.reload();
    await live(b);
    await b.getByTestId(`inbox-item-${DM}`).click();
    await waitForTail(b, tail);
  }, 90_000);

  it('a new conversation appears live for the other member', async () => {
    // Page A signs out and back in as Erin, who has no DM with Bob yet.
    await a.getByTestId('sign-out').click();
    await a.getByTestId('signin-erin').click();
    await live(a);
    const dm = dmId('bob', 'erin');
    expect(await b.getByTestId(`inbox-item-${dm}`).count()).toBe(0);

    await a.getByTestId('new-conversation').click();
    await a.getByTestId('new-conversation-bob').click();
    await a.locator(`[data-testid="conversation"][data-conversation-id="${dm}"]`).waitFor();
    await b.getByTestId(`inbox-item-${dm}`).waitFor({ timeout: WAIT }); // no reload, no reconnect

    await send(a, 'Hi Bob, quick question about the settings page');
    await b.getByTestId(`inbox-item-${dm}`).and(b.locator('[data-unread="1"]')).waitFor({
      timeout: WAIT,
    });
  }, 60_000);

  it('a new server process (new secret) sends the pages back to sign-in instead of looping', async () => {
    await server.close();
    server = await startChatServer({ port: server.port, engine, directory, hub: hubOptions });
    for (const p of [a, b]) {
      await p.getByTestId('signin').waitFor({ timeout: WAIT }); // 4401 → /api/me → 401 → sign-in
      expect(await p.locator('.notice').textContent()).toContain('sign in again');
    }
    await b.getByTestId('signin-bob').click();
    await live(b);
  }, 60_000);
});
