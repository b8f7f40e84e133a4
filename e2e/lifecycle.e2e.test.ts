/**
 * The message lifecycle in the demo, in Chromium (issue 16): two users in two browser contexts
 * edit, delete, react, reply and send an image, each seen live by the other; the other then
 * reloads (a cold start, with the app's REST conversation list blocked) and sees the final state,
 * and an inbox whose titles, last messages and unread counts come from the hub's summary alone.
 */
import { createMemoryEngine, MessageRejectedError } from '@parley/server-adapter';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmId } from '../examples/chat/src/directory.js';
import { type ChatServer, startChatServer } from '../examples/chat/src/server.js';
import { solidPng } from '../examples/chat/test/images.js';
import { chromiumPath, launchChromium } from './browser.js';
import { message, screenshot, send, signIn, WAIT } from './chat-page.js';

const DM = dmId('alice', 'bob');

describe.skipIf(chromiumPath === undefined)('message lifecycle in Chromium', () => {
  const engine = createMemoryEngine();
  let server: ChatServer;
  let browser: Browser;
  let ctxA: BrowserContext;
  let ctxB: BrowserContext;
  let a: Page; // alice
  let b: Page; // bob

  beforeAll(async () => {
    server = await startChatServer({ engine });
    browser = await launchChromium();
    const options = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };
    ctxA = await browser.newContext(options);
    ctxB = await browser.newContext(options);
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

  /** Waits until `locator` is in the page. */
  const seen = (locator: Locator) => locator.first().waitFor({ state: 'attached', timeout: WAIT });
  /** The message's actions (shown on hover or focus); `name` is one of reply/react/edit/delete. */
  async function act(m: Locator, name: string): Promise<void> {
    await m.locator('.bubble').focus();
    await m.getByTestId(`action-${name}`).click();
  }
  const stored = (m: Locator) => m.and(m.page().locator('[data-seq]'));

  it('edit, react, reply, delete and an image: each live on the other page', async () => {
    await signIn(a, server.url, 'alice');
    await signIn(b, server.url, 'bob');
    await a.getByTestId(`inbox-item-${DM}`).click();
    await b.getByTestId(`inbox-item-${DM}`).click();

    // Edit: Alice fixes her message; Bob sees the new text and "edited".
    await send(a, 'Lunch at noon?');
    await seen(stored(message(a, 'Lunch at noon?')));
    await seen(message(b, 'Lunch at noon?'));
    await act(message(a, 'Lunch at noon?'), 'edit');
    await a.getByTestId('edit-input').fill('Lunch at 12:30?');
    await a.getByTestId('edit-input').press('Enter');
    const edited = message(b, 'Lunch at 12:30?');
    await seen(edited.and(b.locator('[data-edited="true"]')));
    expect(await edited.getByTestId('edited-marker').textContent()).toBe('edited');
    expect(await message(b, 'Lunch at noon?').count()).toBe(0);

    // React: Bob 👍 from the picker, then Alice too; both see the count.
    await act(edited, 'react');
    await b.getByTestId('react-👍').click();
    const thumbsA = message(a, 'Lunch at 12:30?').locator(
      '[data-testid="reaction"][data-emoji="👍"]',
    );
    await seen(thumbsA.and(a.locator('[data-count="1"]')));
    await thumbsA.click(); // Alice adds hers by tapping the count
    await seen(edited.locator('[data-testid="reaction"][data-emoji="👍"][data-count="2"]'));

    // Reply: Bob answers Alice's message; Alice sees the quote and jumps to the original.
    await act(edited, 'reply');
    await seen(b.getByTestId('reply-banner').getByText('Lunch at 12:30?'));
    await send(b, 'Works for me');
    const reply = message(a, 'Works for me');
    await seen(reply.getByTestId('reply-quote'));
    expect(await reply.getByTestId('reply-quote').textContent()).toContain('Lunch at 12:30?');
    await reply.getByTestId('reply-quote').click();
    await seen(message(a, 'Lunch at 12:30?').and(a.locator('[data-highlighted="true"]')));

    // Delete: Alice takes a message back; Bob sees a tombstone in its place.
    await send(a, 'Wrong chat, sorry');
    await seen(stored(message(a, 'Wrong chat, sorry')));
    await seen(message(b, 'Wrong chat, sorry'));
    await act(message(a, 'Wrong chat, sorry'), 'delete');
    await seen(b.locator('[data-testid="message"][data-deleted="true"]'));
    expect(await message(b, 'Wrong chat, sorry').count()).toBe(0);
    expect(await message(b, 'Message deleted').count()).toBe(1);

    // An image: uploaded by the app, the message carries it in data.attachment.
    await a.getByTestId('composer-input').fill('The new menu');
    await a.getByTestId('attach-input').setInputFiles({
      name: 'menu.png',
      mimeType: 'image/png',
      buffer: solidPng(120, 80, [236, 72, 153]),
    });
    const img = message(b, 'The new menu').getByTestId('message-image');
    await seen(img);
    await b.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLImageElement>('[data-testid="message-image"]')].some(
          (i) => i.complete && i.naturalWidth === 120,
        ),
      undefined,
      { timeout: WAIT },
    );
    expect(await img.getAttribute('alt')).toBe('menu.png');
    await screenshot(b, 'lifecycle.png');
  }, 90_000);

  it('a reload (cold start, REST list blocked) shows the final state and the summary inbox', async () => {
    // Bob leaves the DM; Alice writes twice more: unread 2 for Bob.
    await b.getByTestId('inbox-item-launch').click();
    await send(a, 'Also: bring the slides');
    await send(a, 'See you there');
    const row = b.getByTestId(`inbox-item-${DM}`);
    await seen(row.and(b.locator('[data-unread="2"]')));

    // The inbox must come from the hub's summary: the app's conversation list answers nothing.
    await b.route('**/api/conversations', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: '[]' }),
    );
    await b.reload();
    await seen(b.locator('[data-testid="connection-state"][data-state="live"]'));
    await seen(row.and(b.locator('[data-unread="2"]')));
    expect(await row.locator('.inbox-title').textContent()).toBe('Alice Martin');
    expect(await row.getByTestId('last-message').textContent()).toBe('See you there');
    expect(await row.getByTestId('unread-badge').textContent()).toBe('2');
    const launch = b.getByTestId('inbox-item-launch');
    expect(await launch.locator('.inbox-title').textContent()).toBe('# spring-launch');
    expect(
      await b.getByTestId('inbox-item-dm-bob-carol').locator('.inbox-title').textContent(),
    ).toBe('Carol Diaz');

    // Opening the DM pages its newest messages in, each in its final state.
    await row.click();
    const edited = message(b, 'Lunch at 12:30?');
    await seen(edited.and(b.locator('[data-edited="true"]')));
    expect(await message(b, 'Lunch at noon?').count()).toBe(0);
    expect(
      await edited.locator('[data-testid="reaction"][data-emoji="👍"]').getAttribute('data-count'),
    ).toBe('2');
    expect(await message(b, 'Works for me').getByTestId('reply-quote').textContent()).toContain(
      'Lunch at 12:30?',
    );
    expect(await b.locator('[data-testid="message"][data-deleted="true"]').count()).toBe(1);
    expect(await message(b, 'Wrong chat, sorry').count()).toBe(0);
    await seen(message(b, 'The new menu').getByTestId('message-image'));
    // Read now: the badge goes, on the server too.
    await seen(row.and(b.locator('[data-unread="0"]')));
    await expect
      .poll(
        async () => (await server.hub.conversationSummary('bob')).find((r) => r.id === DM)?.unread,
        { timeout: WAIT },
      )
      .toBe(0);
  }, 90_000);

  it('by keyboard alone: Tab to a message, its actions, a reaction and an edit', async () => {
    await a.getByTestId(`inbox-item-${DM}`).click();
    const m = message(a, 'See you there');
    await seen(m.and(a.locator('[data-seq]')));
    await m.locator('.bubble').focus();
    await a.keyboard.press('Tab'); // the first action: reply
    expect(await a.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'action-reply',
    );
    await a.keyboard.press('Tab');
    await a.keyboard.press('Enter'); // react: the picker opens
    await a.getByTestId('emoji-picker').waitFor();
    await a.getByTestId('react-🎉').focus();
    await a.keyboard.press('Enter');
    await seen(message(b, 'See you there').locator('[data-testid="reaction"][data-emoji="🎉"]'));
    await m.locator('.bubble').focus();
    // Tab past the reaction just added and reply, react: edit (an own message).
    const focused = () => a.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    for (let i = 0; i < 6 && (await focused()) !== 'action-edit'; i++)
      await a.keyboard.press('Tab');
    expect(await focused()).toBe('action-edit');
    await a.keyboard.press('Enter');
    await a.getByTestId('edit-input').waitFor();
    await a.keyboard.press('Escape'); // cancel keeps the text
    await a.getByTestId('edit-input').waitFor({ state: 'detached' });
    expect(await m.getAttribute('data-edited')).toBeNull();
  }, 60_000);

  it('at 390 px the actions, the reply and the image button are usable by touch', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await ctx.newPage();
      await signIn(p, server.url, 'alice');
      await p.getByTestId(`inbox-item-${DM}`).tap();
      const m = message(p, 'Works for me');
      await seen(m);
      await m.locator('.bubble').tap();
      for (const id of ['action-reply', 'action-react']) {
        const box = (await m.getByTestId(id).boundingBox())!;
        expect(box.x, id).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, id).toBeLessThanOrEqual(390);
      }
      await m.getByTestId('action-reply').tap();
      await seen(p.getByTestId('reply-banner').getByText('Works for me'));
      const attach = (await p.getByTestId('attach-button').boundingBox())!;
      expect(attach.x + attach.width).toBeLessThanOrEqual(390);
      expect(await p.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
      await screenshot(p, 'phone-lifecycle.png');
    } finally {
      await ctx.close();
    }
  }, 60_000);

  it('an edit the server refuses: the page says why and shows the stored text again', async () => {
    // A second demo server whose app refuses every edit (authorizeOperation), with a reason.
    const strict = await startChatServer({
      hub: {
        authorizeOperation: ({ operation }) => {
          if (operation.kind === 'edit') throw new MessageRejectedError('edits are closed');
          return undefined;
        },
      },
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await ctx.newPage();
      await signIn(p, strict.url, 'alice');
      await p.getByTestId(`inbox-item-${DM}`).click();
      await send(p, 'Final answer');
      const m = message(p, 'Final answer');
      await seen(m.and(p.locator('[data-seq]')));
      await act(m, 'edit');
      await p.getByTestId('edit-input').fill('Changed my mind');
      await p.getByTestId('edit-input').press('Enter');
      await seen(p.getByTestId('operation-error').getByText('edits are closed', { exact: false }));
      await seen(message(p, 'Final answer'));
      expect(await message(p, 'Changed my mind').count()).toBe(0);
      expect(await message(p, 'Final answer').getAttribute('data-edited')).toBeNull();
    } finally {
      await ctx.close();
      await strict.close();
    }
  }, 60_000);
});
