/**
 * Two users at once, in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium through
 * playwright-core): a bureau's inbox left open follows what a colleague of the bureau (another browser,
 * another account) does to its cases, with nobody touching the first page: the list is asked again
 * while it is in view, keeping the item with the focus, and never while the user types in a field.
 * And the card's before/after slider: Esc and B work from it, as from the page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

const FIRST = '370102-202610-0001';
const SECOND = '370102-202610-0002';
const THIRD = '370102-202610-0003';

describe.skipIf(!haveBrowser)('an open list follows a colleague, in Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let other: BrowserContext;
  let colleague: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-live-lists-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(FIRST, '2026-10', square(117.05, 36.65)), polygon(SECOND, '2026-10', square(117.06, 36.65)), polygon(THIRD, '2026-10', square(117.07, 36.65))], '2026-11-02');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['nr2', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'live-lists-page-secret-0000000001', now: new Date('2026-11-10T02:00:00Z') }));
    await openSignedIn(page, base, '/?epoch=2026-10', 'nr', consoleErrors);
    await page.waitForSelector(`#inbox-list button.item[data-code="${THIRD}"]`, { timeout: 120_000 });
    other = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    colleague = await other.newPage();
    await openSignedIn(colleague, base, '/?epoch=2026-10', 'nr2', consoleErrors);
    await colleague.waitForSelector(`#inbox-list button.item[data-code="${THIRD}"]`, { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await other?.close();
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const statusIn = (p: Page, code: string) => p.textContent(`#inbox-list button.item[data-code="${code}"] .status-text`);

  /** The colleague signs for `code` on their own page (签收). */
  async function accept(code: string): Promise<void> {
    await colleague.click(`#inbox-list button.item[data-code="${code}"]`);
    await colleague.click('#act-accept');
    await expect.poll(() => colleague.textContent('#card-status'), { timeout: 30_000 }).toBe('核查中');
    await colleague.click('#card-back');
  }

  it('an unchanged list is asked again but not rebuilt (nothing redrawn under the user for nothing)', async () => {
    // Asked again every second here (30 s on the page), for the test's sake.
    await page.evaluate(() => ((window as unknown as { tuban: { listPollMs: number } }).tuban.listPollMs = 1000));
    const asked: string[] = [];
    const onRequest = (r: { url(): string }) => new URL(r.url()).pathname === '/api/polygons' && asked.push(r.url());
    page.on('request', onRequest);
    await page.evaluate((code) => document.querySelector(`#inbox-list button.item[data-code="${code}"]`)!.setAttribute('data-mark', 'kept'), FIRST);
    await page.waitForTimeout(3500);
    page.off('request', onRequest);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    // The same node: a redraw would have built a new one without the mark.
    expect(await page.getAttribute(`#inbox-list button.item[data-code="${FIRST}"]`, 'data-mark')).toBe('kept');
  });

  it("a colleague's 签收 shows in the open list by itself; the item with the focus keeps it", async () => {
    expect(await statusIn(page, FIRST)).toBe('已下发');
    await page.focus(`#inbox-list button.item[data-code="${SECOND}"]`);
    await accept(FIRST);
    // Before, the list said 已下发 until the user reloaded or did something.
    await expect.poll(() => statusIn(page, FIRST), { timeout: 15_000 }).toBe('核查中');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.code)).toBe(SECOND);
    expect(await page.isHidden('#view-card')).toBe(true);
  });

  it('not while the user types in a field: once they leave it', async () => {
    await page.fill('#f-code', '00');
    await accept(SECOND);
    // Three polls' time with the focus in 编号: the list is not redrawn under the user.
    await page.waitForTimeout(3000);
    expect(await statusIn(page, SECOND)).toBe('已下发');
    expect(await page.inputValue('#f-code')).toBe('00');
    await page.focus(`#inbox-list button.item[data-code="${THIRD}"]`);
    await expect.poll(() => statusIn(page, SECOND), { timeout: 15_000 }).toBe('核查中');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.code)).toBe(THIRD);
  });

  it('Esc and B work from the card’s before/after slider', async () => {
    await page.click(`#inbox-list button.item[data-code="${THIRD}"]`);
    await page.waitForSelector('#compare-range', { timeout: 30_000 });
    await page.focus('#compare-range');
    const side = () => page.evaluate(() => (window as unknown as { tuban: { side: string } }).tuban.side);
    expect(await side()).toBe('after');
    // The arrows are the slider's.
    await page.keyboard.press('ArrowRight');
    expect(await page.inputValue('#compare-range')).toBe('51');
    await page.keyboard.press('b');
    expect(await side()).toBe('before');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#view-card', { state: 'hidden', timeout: 10_000 });
    expect(await page.isVisible(`#inbox-list button.item[data-code="${THIRD}"]`)).toBe(true);
    // In a text field they are typed: B is a letter of 编号, Esc leaves the card shown.
    await page.click(`#inbox-list button.item[data-code="${THIRD}"]`);
    await page.waitForSelector('#compare-range', { timeout: 30_000 });
    if (!(await page.isVisible('#more-notes textarea'))) await page.click('#more-notes summary');
    await page.focus('#more-notes textarea');
    await page.keyboard.press('b');
    await page.keyboard.press('Escape');
    expect(await side()).toBe('before');
    expect(await page.isHidden('#view-card')).toBe(false);
  });

  it('no console errors', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
