/**
 * 持续监测 on the page, in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium through
 * playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1): the bureau picks 其他 ·
 * 持续监测, the form asks what to watch for, and the card then says 持续监测 with what is watched and
 * the re-check date, offers 复查判定 and 申请改派 and no 销号; the inbox filter names the state; the lead
 * bureau's month summary counts it under 持续监测; the next month's
 * polygon at the site says on its card that its earlier site is under 持续监测.
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

const OCT = '370102-202610-0001';
const NOV = '370102-202611-0001';

describe.skipIf(!haveBrowser)('持续监测 on the page', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  const notFound: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-monitoring-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(OCT, '2026-10', square(117.05, 36.65))], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['chief', 'lead']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'monitoring-page-secret-monitoring-01', now: new Date('2026-11-03T02:00:00Z') }));
    page.on('response', (r) => r.status() === 404 && notFound.push(new URL(r.url()).pathname));
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT}`, 'nr', consoleErrors);
    await page.waitForSelector('#act-accept', { timeout: 120_000 });
    await page.click('#act-accept');
    await page.waitForSelector('#verdict-form');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks what to watch for with 持续监测 only, and the card then says 持续监测, by when, and offers no 销号', async () => {
    await page.check('input[name=verdict][value=other]');
    await page.selectOption('#other-situation', 'seasonal');
    expect(await page.isHidden('#other-watch')).toBe(true);
    await page.selectOption('#other-situation', 'continuous_monitoring');
    expect(await page.isVisible('#other-watch')).toBe(true);
    expect(await page.$eval('#other-watch', (e) => (e as HTMLTextAreaElement).required)).toBe(true);
    // The re-check date is optional: from today to the rule's 2026-12-31 plus 2 months; empty, the rule's.
    expect(await page.$eval('#other-recheck', (e) => [(e as HTMLInputElement).min, (e as HTMLInputElement).max, (e as HTMLInputElement).required])).toEqual(['2026-11-03', '2027-02-28', false]);
    await page.fill('#other-reason', '现场推堆土，用途不明');
    await page.fill('#other-watch', '堆土平整后是否起建筑');
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#card-status')).toBe('持续监测');
    expect(await page.textContent('#card-monitoring')).toContain('关注：堆土平整后是否起建筑；复查期限 2026-12-31');
    expect(await page.textContent('#card-verdict')).toContain('持续监测（推堆土/在建，用途待定）');
    expect(await page.$('#monitoring-verdict #verdict-form')).not.toBeNull();
    expect(await page.$('#more-close')).toBeNull();
    const stored = (await db.query('SELECT status, due_date::text AS due FROM cases WHERE code = $1', [OCT])).rows[0];
    expect(stored).toEqual({ status: 'monitoring', due: '2026-12-31' });
    expect(await page.$$eval('#f-status option', (os) => os.map((o) => o.textContent))).toContain('持续监测');
    // Judged by the wrong bureau, it can be handed on (改派 goes through the lead bureau).
    expect(await page.$('#more-request-reassignment')).not.toBeNull();
  });

  it("the lead bureau's month summary counts it under 持续监测, by district and by lead bureau", async () => {
    const lp = await browser.newPage();
    const errors: string[] = [];
    await openSignedIn(lp, base, '/?epoch=2026-10', 'chief', errors);
    await lp.waitForSelector('#tab-ledger:not([hidden])', { timeout: 60_000 });
    await lp.click('#tab-ledger');
    await lp.waitForSelector('#summary-bureau-table');
    const cells = (table: string, part: string) => lp.$$eval(`#${table} ${part}`, (cs) => cs.map((x) => x.textContent));
    // 其他 1 (the 持续监测 verdict), of which 持续监测 1, still 未销号.
    expect((await cells('summary-table', 'thead th')).slice(5, 8)).toEqual(['其他', '持续监测', '未销号']);
    expect((await cells('summary-table', 'tfoot td')).slice(4, 7)).toEqual(['1', '1', '1']);
    // By lead bureau, each status column is the polygons now in the status of that name (the inbox
    // filter's): judged 其他 · 持续监测, it is 持续监测 only, not also 已判定.
    const statuses = ['已下发', '核查中', '已判定', '持续监测', '整改中', '已销号待审核', '申请改派', '已办结'];
    expect(await cells('summary-bureau-table', 'thead tr:last-child th')).toEqual(statuses);
    expect(await cells('summary-bureau-table', 'thead tr:first-child th')).toEqual(['牵头单位', '图斑', '当前状态', '未销号', '逾期']);
    expect(await cells('summary-bureau-table', 'tfoot td')).toEqual(['1', '0', '0', '0', '1', '0', '0', '0', '0', '1', '0']);
    // The verdicts so far, cumulative, are not the status 已判定.
    expect(await lp.textContent('#summary p.muted')).toContain('已出核查结论 1/1');
    expect(await lp.textContent('#summary p.muted')).not.toContain('已判定');
    expect(errors).toEqual([]);
    await lp.close();
  });

  it("the by-bureau summary's status columns add up to 图斑 on every row, the 合计 line included", async () => {
    // Another bureau's polygons, in other states: the month holds more than the one under 持续监测.
    await writeBatch(db, 'b-2026-10-more', '2026-10', [1, 2, 3].map((i) => polygon(`370102-202610-100${i}`, '2026-10', square(117.1 + i * 0.002, 36.65), { leadBureau: 'water' })), '2026-10-28');
    const token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD } })).json().token;
    expect((await app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    await db.query(`UPDATE cases SET status = 'accepted' WHERE code = '370102-202610-1001'`);
    const lp = await browser.newPage();
    const errors: string[] = [];
    await openSignedIn(lp, base, '/?epoch=2026-10', 'chief', errors);
    await lp.waitForSelector('#tab-ledger:not([hidden])', { timeout: 60_000 });
    await lp.click('#tab-ledger');
    await lp.waitForSelector('#summary-bureau-table');
    const rows = await lp.$$eval('#summary-bureau-table tbody tr, #summary-bureau-table tfoot tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
    expect(rows.length).toBe(3); // 自然资源局, 城乡水务局, 合计
    for (const [n, ...rest] of rows) {
      const statusColumns = rest.slice(0, 8);
      expect(statusColumns.reduce((a, b) => a + b, 0)).toBe(n);
    }
    expect(rows[2].slice(0, 3)).toEqual([4, 2, 1]); // 图斑 4: 已下发 2, 核查中 1 (and 持续监测 1)
    expect(errors).toEqual([]);
    await lp.close();
  });

  it("the next month's polygon at the site says its earlier site is under 持续监测", async () => {
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon(NOV, '2026-11', square(117.05, 36.65, 0.0012), { previousCode: OCT })], '2026-11-03');
    // The server makes the new month's cases (the lead's sweep) before the page opens the card.
    const token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD } })).json().token;
    expect((await app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    await page.goto(`${base}/?epoch=2026-11&case=${NOV}`);
    await expect.poll(() => page.textContent('#card-body').catch(() => ''), { timeout: 60_000 }).toContain('往期图斑持续监测中');
    expect(await page.textContent('#card-previous-monitoring')).toContain('关注：堆土平整后是否起建筑');
    expect(await page.textContent('#card-previous-monitoring')).toContain('复查期限 2026-12-31');
    await page.goto(`${base}/?epoch=2026-10&case=${OCT}`);
    await expect.poll(() => page.textContent('#card-later').catch(() => ''), { timeout: 60_000 }).toContain(NOV);
    expect(await page.textContent('#card-monitoring')).toContain('后续批次已再次监测到该地块');
  });

  it('moves the re-check date (调整复查期限, in the history), and a 复查判定 of 持续监测 sets the date it is given', async () => {
    await page.click('#more-recheck-date summary');
    expect(await page.$eval('#more-recheck-date input[name=recheck_on]', (e) => [(e as HTMLInputElement).value, (e as HTMLInputElement).min, (e as HTMLInputElement).max])).toEqual(['2026-12-31', '2026-11-03', '2027-02-28']);
    await page.fill('#more-recheck-date input[name=recheck_on]', '2027-01-15');
    await page.fill('#more-recheck-date textarea[name=reason]', '地基已浇筑，待下期影像');
    await page.click('#submit-recheck-date');
    await expect.poll(() => page.textContent('#card-monitoring')).toContain('复查期限 2027-01-15');
    expect(await page.textContent('#history')).toContain('调整复查期限');
    expect(await page.textContent('#history')).toContain('复查期限 2026-12-31 → 2027-01-15');
    const due = async () => (await db.query('SELECT due_date::text AS due FROM cases WHERE code = $1', [OCT])).rows[0].due;
    expect(await due()).toBe('2027-01-15');

    await page.check('#monitoring-verdict input[name=verdict][value=other]');
    await page.selectOption('#monitoring-verdict #other-situation', 'continuous_monitoring');
    await page.fill('#monitoring-verdict #other-reason', '堆土已平整');
    await page.fill('#monitoring-verdict #other-watch', '是否起建筑');
    await page.fill('#monitoring-verdict #other-recheck', '2026-11-30');
    await page.click('#monitoring-verdict #verdict-submit');
    await expect.poll(() => page.textContent('#card-monitoring')).toContain('复查期限 2026-11-30');
    expect(await due()).toBe('2026-11-30');
  });

  it('asked nothing of the internet and logged no error but the chips this batch without imagery lacks', async () => {
    expect(external).toEqual([]);
    expect(notFound.length).toBeGreaterThan(0);
    // A 404's console line and its response event come on their own times: one each, once both are in
    // (compared at once, a chip's line logged before its response counted 14 against 13 under load).
    await expect.poll(() => consoleErrors.length - notFound.length, { timeout: 5000 }).toBe(0);
    expect(notFound.filter((u) => !/^\/api\/polygons\/[0-9-]+\/chips\//.test(u))).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
