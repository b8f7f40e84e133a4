/**
 * `pnpm demo`, Ctrl+C, `pnpm demo` again — with a page open. Two real processes: the second one
 * has none of the first one's memory (a fresh in-memory engine), only the dev token secret it
 * reads from its file. The page must stay signed in ("Reconnecting…", then "Live") and must say
 * that the history was reset instead of silently showing the re-seeded sample conversations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmId, SEED_NOTE } from '../examples/chat/src/directory.js';
import { chromiumPath, launchChromium } from './browser.js';
import { connection, live, message, screenshot, send, signIn, texts, WAIT } from './chat-page.js';
import { type DemoProcess, startDemo } from './demo-process.js';

const DM = dmId('alice', 'bob');

describe.skipIf(chromiumPath === undefined)(
  'the demo process restarts (Ctrl+C, start again)',
  () => {
    let dir: string;
    let env: Record<string, string>;
    let demo: DemoProcess | undefined;
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parley-demo-e2e-'));
      // The developer's own examples/chat/.data stays untouched.
      env = { PARLEY_DEMO_SECRET_FILE: join(dir, 'dev-secret'), PARLEY_DEMO_SECRET: '' };
      [demo, browser] = await Promise.all([startDemo({ port: 0, env }), launchChromium()]);
      const ctx = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        deviceScaleFactor: 1,
      });
      page = await ctx.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await demo?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps the page signed in: "Reconnecting…", then "Live", and a visible "history reset"', async () => {
      await signIn(page, demo!.url, 'alice');
      await page.getByTestId(`inbox-item-${DM}`).click();
      await send(page, 'Said before the restart');
      await message(page, 'Said before the restart')
        .and(page.locator('[data-status="sent"]'))
        .waitFor({ timeout: WAIT });
      const rows = await page.$$eval('[data-testid^="inbox-item-"]', (els) =>
        els.map((e) => e.getAttribute('data-testid')),
      );
      expect(rows.length).toBe(4);

      // From here on, record every state the pill shows and whether the sign-in page ever appears.
      await page.evaluate(() => {
        const w = window as unknown as { __states: string[]; __signedOut: boolean };
        w.__states = [];
        w.__signedOut = false;
        new MutationObserver(() => {
          const pill = document.querySelector('[data-testid="connection-state"]');
          const state = pill?.getAttribute('data-state');
          if (state && w.__states.at(-1) !== state) w.__states.push(state);
          if (document.querySelector('[data-testid="signin"]')) w.__signedOut = true;
        }).observe(document.body, { subtree: true, childList: true, attributes: true });
      });

      const { port } = demo!;
      await demo!.stop();
      demo = undefined;
      await connection(page, 'reconnecting');
      expect(await page.getByTestId('connection-state').textContent()).toBe('Reconnecting…');

      demo = await startDemo({ port, env });
      // The client's backoff decides when it tries again (full jitter, capped): allow for it.
      await live(page, 45_000);
      const seen = await page.evaluate(() => {
        const w = window as unknown as { __states: string[]; __signedOut: boolean };
        return { states: w.__states, signedOut: w.__signedOut };
      });
      expect(seen.signedOut).toBe(false);
      expect(seen.states.at(-1)).toBe('live');
      expect(seen.states).toContain('reconnecting');
      expect(
        await page.getByTestId('current-user').and(page.locator('[data-user-id="alice"]')).count(),
      ).toBe(1);

      // The new process lost the history: the conversation says so, where it happened.
      const notice = page.getByTestId('reset-notice');
      await notice.waitFor({ timeout: WAIT });
      expect(await notice.getAttribute('data-reason')).toBe('epoch_changed');
      expect(await notice.textContent()).toContain('History reset');
      await page.waitForFunction(
        (note) =>
          [...document.querySelectorAll('[data-testid="message-text"]')].some(
            (e) => e.textContent === note,
          ),
        SEED_NOTE,
        { timeout: WAIT },
      );
      expect(await texts(page)).not.toContain('Said before the restart');
      // The notice comes after what the new server holds (the re-seeded sample, which says so).
      const order = await page.$$eval('[data-testid="messages"] > *', (els) =>
        els.map((e) => e.getAttribute('data-testid') ?? ''),
      );
      expect(order.indexOf('reset-notice')).toBeGreaterThan(order.lastIndexOf('message'));

      // No conversation quietly swapped its contents (or brought old unread badges back): every
      // inbox row that was reset is marked.
      for (const row of rows) {
        await page
          .locator(`[data-testid="${row}"][data-reset="epoch_changed"]`)
          .waitFor({ timeout: WAIT });
      }
      await screenshot(page, 'reset-notice.png');

      // Life goes on below the notice, with the same session.
      await send(page, 'Said after the restart');
      await message(page, 'Said after the restart')
        .and(page.locator('[data-status="sent"]'))
        .waitFor({ timeout: WAIT });
      // Only messages and the notice: a day divider appears between them when the clock passes
      // midnight during the test (a CI run once started at 23:58).
      const after = await page.$$eval(
        '[data-testid="messages"] > [data-testid="message"], [data-testid="messages"] > [data-testid="reset-notice"]',
        (els) => els.map((e) => e.getAttribute('data-testid') ?? ''),
      );
      expect(after.at(-1)).toBe('message');
      expect(after.indexOf('reset-notice')).toBe(after.length - 2);

      // Dismissed, it is gone from the conversation and the inbox row.
      await page.getByTestId('reset-dismiss').click();
      expect(await notice.count()).toBe(0);
      await page
        .locator(`[data-testid="inbox-item-${DM}"]:not([data-reset])`)
        .waitFor({ timeout: WAIT });
    }, 120_000);
  },
);
