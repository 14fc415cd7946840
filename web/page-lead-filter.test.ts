/**
 * The 主办 filter governs the whole panel (stop 40's walkthrough as a bureau that co-handles most of
 * its scope): with 本单位主办 picked, the counts above the list and the 逾期 tab and its badge are of the
 * cases the bureau leads — not 全部 68 over a list of 24, nor 逾期 67 for its own 23 late cases.
 * A count clicked lists what it counts, whatever status, priority or 仅逾期 was picked before.
 * Debian's /usr/bin/chromium through playwright-core, as web/page.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

const code = (n: number) => `370102-202610-000${n}`;

describe.skipIf(!haveBrowser)('the 主办 filter, counts and 逾期 included', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  // Past the end of the month of issue: every verification is late.
  const now = new Date('2026-11-03T02:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-lead-filter-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [
      polygon(code(1), '2026-10', square(117.05, 36.65)),
      polygon(code(2), '2026-10', square(117.06, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
      polygon(code(3), '2026-10', square(117.07, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
    ], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['chief', 'lead']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'lead-filter-page-secret-lead-filter-1', now }));
    await openSignedIn(page, base, '/?epoch=2026-10', 'nr', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('全部（含协办）: everything in scope, counted and listed', async () => {
    await page.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '3');
    expect(await page.textContent('#counts')).toContain('全部 3');
  });

  it('本单位主办: the counts, the 逾期 badge and the 逾期 list are of its own cases', async () => {
    await page.selectOption('#f-lead', 'natural_resources');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 1);
    await page.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '1');
    expect(await page.textContent('#counts')).toContain('全部 1');
    await page.click('#tab-overdue');
    await page.waitForFunction(() => document.querySelectorAll('#overdue-list li').length === 1);
    expect(await page.textContent('#overdue-list')).toContain(code(1));
  });

  it('back to 全部（含协办）, all three again', async () => {
    await page.click('#tab-inbox');
    await page.selectOption('#f-lead', '');
    await page.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '3');
    expect(await page.textContent('#counts')).toContain('全部 3');
  });

  it('a late reply for the filter left behind does not overwrite the counts of the one now picked', async () => {
    // 本单位主办's counts held back until 全部's are in, as a slow line may deliver them.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let delivered!: () => void;
    const late = new Promise<void>((r) => (delivered = r));
    const own = /\/api\/inbox\/counts\?.*lead_bureau=natural_resources/;
    await page.route(own, async (route) => {
      const response = await route.fetch();
      await held;
      await route.fulfill({ response });
      delivered();
    });
    await page.selectOption('#f-lead', 'natural_resources');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 1);
    await page.selectOption('#f-lead', '');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 3);
    await page.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '3');
    release();
    await late;
    // The late reply has reached the page: whatever it would draw is drawn by the next round trip or two.
    await page.waitForTimeout(300);
    expect(await page.textContent('#counts')).toContain('全部 3');
    expect(await page.textContent('#overdue-badge')).toBe('3');
    await page.unroute(own);
  });

  it('a count clicked lists what it counts: 逾期 3 lists all three late ones, whatever status was picked before', async () => {
    await page.selectOption('#f-lead', '');
    const session = await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } });
    const accepted = await app.inject({ method: 'POST', url: `/api/polygons/${code(1)}/accept`, headers: { authorization: `Bearer ${session.json().token}` } });
    expect(accepted.statusCode, accepted.body).toBe(200);
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 3, null, { timeout: 60_000 });
    await page.selectOption('#f-status', 'accepted');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 1);
    await page.click('#counts button[data-overdue]');
    expect(await page.textContent('#counts button[data-overdue]')).toBe('逾期 3');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 3);
    // And a status's count after 仅逾期 and a priority: its list, all of it.
    await page.selectOption('#f-priority', { index: 1 });
    await page.click('#counts button[data-status="issued"]');
    await page.waitForFunction(() => document.querySelectorAll('#inbox-list li').length === 2);
    expect(await page.textContent('#counts button[data-status="issued"]')).toContain('2');
  });

  it("the lead's 复核逾期 n is a label, not a count that lists: no list holds the late reviews alone", async () => {
    // Two closures awaiting review, one past its 5th-of-the-month review day.
    await db.query(`UPDATE cases SET status = 'closed', due_rule = 'monthly_report', due_date = CASE code WHEN $1 THEN '2026-11-01'::date ELSE '2026-12-05'::date END WHERE code IN ($1, $2)`, [code(1), code(2)]);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    const lp = await context.newPage();
    await openSignedIn(lp, base, '/?epoch=2026-10', 'chief', consoleErrors);
    await lp.waitForSelector('#count-review-late', { timeout: 60_000 });
    expect(await lp.textContent('#count-review-late')).toBe('复核逾期 1');
    // Not a button (it listed both closures, 已销号 2's list, under 复核逾期 1); 已销号 2 still lists its two.
    expect(await lp.$eval('#count-review-late', (e) => [e.tagName, e.closest('button')])).toEqual(['SPAN', null]);
    expect(await lp.textContent('#counts button[data-status="closed"]')).toContain('2');
    await context.close();
  });

  it('no console errors', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
