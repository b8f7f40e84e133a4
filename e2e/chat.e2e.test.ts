/**
 * The demo chat in a real browser (playwright-core driving Debian's Chromium): two users in two
 * browser contexts against `startChatServer` on port 0, plus a phone-sized context. Every wait is
 * on the page itself (selectors / functions with timeouts), never a sleep.
 */
import { createMemoryEngine } from '@parley/server-adapter';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectory, dmId } from '../examples/chat/src/directory.js';
import { type ChatServer, startChatServer } from '../examples/chat/src/server.js';
import { chromiumPath, launchChromium } from './browser.js';
import {
  connection,
  cutSockets,
  live,
  message,
  screenshot,
  send,
  signIn,
  TRACK_SOCKETS,
  texts,
  WAIT,
  waitForTail,
} from './chat-page.js';

const DM = dmId('alice', 'bob');

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

  it('A sends to B: B sees it in the inbox with an unread badge, opens it, A sees "read"', async () => {
    await signIn(a, server.url, 'alice');
    await signIn(b, server.url, 'bob');
    await a.getByTestId(`inbox-item-${DM}`).click();
    // Bob reads the group meanwhile: the DM is not open.
    await b.getByTestId('inbox-item-launch').click();
    await b.getByTestId('load-older').waitFor();
    // A fresh page pages the long group in through a `reset` (trimmed): nothing was lost, so no
    // notice.
    expect(await b.getByTestId('reset-notice').count()).toBe(0);

    const text = 'Are we still on for the go/no-go at 11?';
    await send(a, text);
    await message(a, text).and(a.locator('[data-status="sent"]')).waitFor({ timeout: WAIT });

    const row = b.getByTestId(`inbox-item-${DM}`);
    await row.and(b.locator('[data-unread="1"]')).waitFor({ timeout: WAIT });
    expect(await row.getByTestId('unread-badge').textContent()).toBe('1');
    expect(await row.getByTestId('last-message').textContent()).toBe(text);
    await screenshot(b, 'inbox.png', true);

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
    await screenshot(b, 'conversation.png', true);
    // A stops typing (no more keystrokes): the client sends `stop` after its idle time and B's
    // indicator also expires on its own.
    await indicator.waitFor({ state: 'detached', timeout: 15_000 });
    await a.getByTestId('composer-input').fill('');
  }, 60_000);

  it('B goes offline: "Offline" within 1 s, presence unknown; A sends 3, B gets all 3 in order', async () => {
    const presence = () =>
      b.$$eval('[data-testid="presence-dot"]', (els) =>
        els.map((e) => e.getAttribute('data-online')),
      );
    expect(await presence()).toContain('true'); // Alice is online, and B knows it
    // The page records when its pill first says "offline"; the clock starts just before the
    // network goes away. Chromium fires `offline` but keeps the open WebSocket (it only stops its
    // traffic), so without the page's own `offline` handling "Live" would stay until the
    // client's heartbeat gave up (10 s).
    const before = await b.evaluate(() => {
      const w = window as unknown as { __shownOfflineAt?: number };
      const pill = document.querySelector('[data-testid="connection-state"]')!;
      const observer = new MutationObserver(() => {
        if (pill.getAttribute('data-state') !== 'offline') return;
        w.__shownOfflineAt = performance.now();
        observer.disconnect();
      });
      observer.observe(pill, { attributes: true, attributeFilter: ['data-state'] });
      return performance.now();
    });
    await ctxB.setOffline(true);
    await connection(b, 'offline', 5_000);
    const shownAfterMs = await b.evaluate(
      (t0) => (window as unknown as { __shownOfflineAt: number }).__shownOfflineAt - t0,
      before,
    );
    expect(shownAfterMs).toBeLessThan(1_000);
    expect(await b.getByTestId('connection-state').textContent()).toBe('Offline');
    // While not connected, nobody is shown as online or offline: we cannot know.
    const dots = await presence();
    expect(dots.length).toBeGreaterThan(0);
    expect(new Set(dots)).toEqual(new Set(['unknown']));
    expect(await b.getByTestId('conversation-subtitle').textContent()).toContain('unknown');

    // Cut the socket too, in case a browser lets the traffic through.
    await cutSockets(b);
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
    await b.locator('[data-testid="presence-dot"][data-online="true"]').first().waitFor();
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
      // The store kept its history: a resume, not a reset.
      expect(await page.getByTestId('reset-notice').count()).toBe(0);
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

  it('at phone width (390 px): list ↔ conversation, status, sign-out and "New" all reachable', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await ctx.newPage();
      await signIn(p, server.url, 'carol');
      const noSideways = () =>
        p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      /** Visible and entirely inside the 390 px wide screen. */
      const onScreen = async (testId: string) => {
        const el = p.getByTestId(testId);
        await el.waitFor({ state: 'visible' });
        const box = (await el.boundingBox())!;
        expect(box.x, testId).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, testId).toBeLessThanOrEqual(390);
      };

      // The list: inbox, connection status, "New" and sign-out are on screen; no conversation.
      const inbox = p.getByTestId('inbox');
      await inbox.waitFor({ state: 'visible' });
      for (const id of ['connection-state', 'new-conversation', 'sign-out', 'inbox']) {
        await onScreen(id);
      }
      expect(await p.getByTestId('empty-state').isVisible()).toBe(false);
      expect(await noSideways()).toBe(true);
      await screenshot(p, 'phone-inbox.png', true);

      // Tap a row: the conversation replaces the list, with a way back.
      await p.getByTestId('inbox-item-support-4821').tap();
      await p.getByTestId('conversation').waitFor({ state: 'visible' });
      expect(await inbox.isVisible()).toBe(false);
      for (const id of ['back-to-inbox', 'conversation', 'composer-input', 'send-button']) {
        await onScreen(id);
      }
      await send(p, 'Refund confirmed on our side, Dave. Anything else?');
      await message(p, 'Refund confirmed on our side, Dave. Anything else?')
        .and(p.locator('[data-status="sent"], [data-status="read"]'))
        .waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await screenshot(p, 'phone-conversation.png', true);

      // Status while in the conversation: the banner says so when not live.
      await ctx.setOffline(true);
      await p
        .locator('[data-testid="connection-banner"][data-state="offline"]')
        .waitFor({ state: 'visible', timeout: 5_000 });
      await ctx.setOffline(false);
      await live(p);
      expect(await p.getByTestId('connection-banner').isVisible()).toBe(false);

      // Back (the button, then the browser's back) returns to the list.
      await p.getByTestId('back-to-inbox').tap();
      await inbox.waitFor({ state: 'visible' });
      expect(await p.getByTestId('conversation').count()).toBe(0);
      await p.getByTestId('inbox-item-launch').tap();
      await p.getByTestId('conversation').waitFor({ state: 'visible' });
      await p.goBack();
      await inbox.waitFor({ state: 'visible' });

      // "New" opens the picker, fully on screen.
      await p.getByTestId('new-conversation').tap();
      const dialog = p.getByTestId('new-conversation-dialog');
      await dialog.waitFor({ state: 'visible' });
      await onScreen('new-conversation-dialog');
      await onScreen('new-conversation-dave');
      await p.locator('.modal-backdrop').click({ position: { x: 5, y: 5 } });
      await dialog.waitFor({ state: 'detached' });

      // Sign-out.
      await p.getByTestId('sign-out').tap();
      await p.getByTestId('signin').waitFor({ state: 'visible' });
    } finally {
      await ctx.close();
    }
  }, 60_000);

  it('a rotated secret sends the pages back to sign-in instead of retrying a dead token', async () => {
    // Not what a restart does (the secret persists, see demo-restart.e2e.test.ts), but what
    // happens when the secret really changes: 4401 → /api/me → 401 → sign-in, no loop.
    await server.close();
    server = await startChatServer({
      port: server.port,
      engine,
      directory,
      secret: 'another-secret',
      hub: hubOptions,
    });
    for (const p of [a, b]) {
      await p.getByTestId('signin').waitFor({ timeout: WAIT });
      expect(await p.locator('.notice').textContent()).toContain('sign in again');
    }
    await b.getByTestId('signin-bob').click();
    await live(b);
  }, 60_000);
});
