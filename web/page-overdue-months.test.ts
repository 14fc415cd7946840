/**
 * The 逾期 tab and its badge across months: last month's cases fall due at its end, just when the next
 * month's batch arrives and the page shows that month. Their lateness is what the lead bureau escalates
 * and the bureau must act on, so the tab lists every month's overdue cases (in the caller's scope and
 * 主办 filter), not only the month selected, whose own cases are not due yet (the badge said 0).
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

const OCT_1 = '370102-202610-0001';
const OCT_2 = '370102-202610-0002';
/** Closed by the bureau, its review by the lead bureau late (due 2026-12-01): 复核逾期, not 逾期. */
const OCT_CLOSED = '370102-202610-0003';
const NOV = '370102-202611-0001';
/** Issued after the page loaded: its month is not in the selector yet. */
const SEP = '370102-202609-0001';

describe.skipIf(!haveBrowser)('the 逾期 tab over every month', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  // October's cases were due on 2026-11-30; November's batch (issued 2026-12-01) is due 2026-12-31.
  const now = new Date('2026-12-03T02:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-overdue-months-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(OCT_1, '2026-10', square(117.05, 36.65)), polygon(OCT_2, '2026-10', square(117.06, 36.65)), polygon(OCT_CLOSED, '2026-10', square(117.08, 36.65))], '2026-11-02');
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon(NOV, '2026-11', square(117.07, 36.65))], '2026-12-01');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['chief', 'lead']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'overdue-months-page-secret-overdue-1', now }));
    await openSignedIn(page, base, '/?epoch=2026-11', 'nr', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
    // The server made the cases for the first request: the third is closed, awaiting the lead's review since 1 December.
    const closed = await db.query<{ code: string }>(`UPDATE cases SET status = 'closed', due_rule = 'monthly_report', due_date = '2026-12-01' WHERE code = $1 RETURNING code`, [OCT_CLOSED]);
    expect(closed.rows).toHaveLength(1);
    await page.reload();
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("on November's page, October's two late cases are in the 逾期 badge and list", async () => {
    expect(await page.textContent('#inbox-list')).toContain(NOV);
    await page.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '2', null, { timeout: 30_000 });
    expect(await page.isHidden('#overdue-badge')).toBe(false);
    await page.click('#tab-overdue');
    await page.waitForFunction(() => document.querySelectorAll('#overdue-list li').length === 2, null, { timeout: 30_000 });
    const list = await page.textContent('#overdue-list');
    expect(list).toContain(OCT_1);
    expect(list).toContain(OCT_2);
    expect(list).not.toContain(NOV);
  });

  it('a late case of another month opens its card from the list', async () => {
    await page.click(`#overdue-list button.item[data-code="${OCT_1}"]`);
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && !document.querySelector('#view-card')?.hidden, OCT_1, { timeout: 30_000 });
    await page.waitForFunction(() => /逾期/.test(document.querySelector('#card-body')?.textContent ?? ''), null, { timeout: 30_000 });
  });

  it("the page goes to the opened case's month: selector, URL, and the map draws and highlights it", async () => {
    // Opened on November's page, October's case was flown to over November's imagery and polygons: its
    // outline not on the map, nothing highlighted (splitting it meant drawing across an outline not shown).
    await expect.poll(() => page.inputValue('#epoch'), { timeout: 30_000 }).toBe('2026-10');
    const url = new URL(page.url());
    expect(url.searchParams.get('epoch')).toBe('2026-10');
    expect(url.searchParams.get('case')).toBe(OCT_1);
    // The card stays open.
    expect(await page.isHidden('#view-card')).toBe(false);
    expect(await page.textContent('#card-code')).toBe(OCT_1);
    type Map = {
      getLayer(id: string): { sourceLayer?: string } | undefined;
      querySourceFeatures(s: string, o?: object): { properties: { code: string } }[];
      getFeatureState(f: object): { selected?: boolean };
    };
    // The polygons come as GeoJSON (embedded) or as vector tiles (PostgreSQL), whose features are asked by their source layer.
    const onMap = () =>
      page.evaluate((code) => {
        const t = (window as unknown as { tuban: { map: Map; epoch: string } }).tuban;
        const sourceLayer = t.map.getLayer('poly-fill')?.sourceLayer;
        const codes = new Set(t.map.querySourceFeatures('polygons', sourceLayer ? { sourceLayer } : undefined).map((f) => f.properties.code));
        return { epoch: t.epoch, drawn: codes.has(code), selected: t.map.getFeatureState({ source: 'polygons', ...(sourceLayer ? { sourceLayer } : {}), id: code }).selected === true };
      }, OCT_1);
    await expect.poll(onMap, { timeout: 30_000 }).toEqual({ epoch: '2026-10', drawn: true, selected: true });
    // Back from the card: October's inbox, as the selector says.
    await page.click('#card-back');
    await page.waitForFunction((code) => !!document.querySelector(`#inbox-list button.item[data-code="${code}"]`), OCT_2, { timeout: 30_000 });
  });

  it("the lead's 复核逾期 counts every month's late reviews, as the badge does; the rest of the counts row is the month's", async () => {
    // On November's page it said nothing of October's closure whose review was due on 1 December.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    const lp = await context.newPage();
    await openSignedIn(lp, base, '/?epoch=2026-11', 'chief', consoleErrors);
    await lp.waitForSelector('#inbox-list li', { timeout: 60_000 });
    await lp.waitForFunction(() => document.querySelector('#overdue-badge')?.textContent === '2', null, { timeout: 30_000 });
    await lp.waitForSelector('#count-review-late', { timeout: 30_000 });
    expect(await lp.textContent('#count-review-late')).toBe('复核逾期 1');
    // The month's: November's one polygon, none of it late.
    const counts = await lp.textContent('#counts');
    expect(counts).toContain('全部 1');
    expect(await lp.$('#counts button[data-overdue]')).toBeNull();
    expect(await lp.$('#counts button[data-status="closed"]')).toBeNull();
    await context.close();
  });

  it("a card closed while its month loads stays closed: the month switch puts no case back in the URL", async () => {
    // A month the selector does not offer yet (its batch arrived after the page loaded): opening its
    // case asks the months again before the switch goes on. The user closed the card meanwhile; the
    // switch then put ?case= back (a reload opened the card they had closed).
    await writeBatch(db, 'b-2026-09', '2026-09', [polygon(SEP, '2026-09', square(117.09, 36.65))], '2026-10-02');
    const token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD } })).json().token as string;
    expect((await app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect(await page.$('#epoch option[value="2026-09"]')).toBeNull();
    let asked!: () => void;
    const monthsAsked = new Promise<void>((resolve) => (asked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/months', async (route) => {
      asked();
      await released;
      await route.continue();
    });
    await page.click('#tab-inbox');
    await page.fill('#f-code', SEP);
    await page.press('#f-code', 'Enter');
    await monthsAsked;
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && !!document.querySelector('#card-body .facts'), SEP, { timeout: 30_000 });
    await page.click('#card-back');
    expect(new URL(page.url()).searchParams.get('case')).toBeNull();
    release();
    await expect.poll(() => page.inputValue('#epoch'), { timeout: 30_000 }).toBe('2026-09');
    await page.waitForFunction((code) => !!document.querySelector(`#inbox-list button.item[data-code="${code}"]`), SEP, { timeout: 30_000 });
    await page.unroute('**/api/months');
    const url = new URL(page.url());
    expect([url.searchParams.get('epoch'), url.searchParams.get('case')]).toEqual(['2026-09', null]);
    expect(await page.isHidden('#view-card')).toBe(true);
  });

  it('no console errors', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
