/**
 * What a walkthrough at 1366 × 768 in an English Chromium found (as web/page.test.ts: Debian's
 * /usr/bin/chromium through playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1):
 * a 持续监测 case whose re-check date has passed offers no 调整复查期限 (the server refuses it, 409, and
 * the date field's own `min` hid that behind a browser bubble) but says why and what to do; the forms'
 * own checks speak Chinese whatever the browser's language; the admin starts with the focus on their tab.
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
const validationMessage = (page: Page, selector: string) => page.$eval(selector, (e) => (e as HTMLInputElement).validationMessage);

describe.skipIf(!haveBrowser)('the 1366 × 768 walkthrough, in an English Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  // The server's clock: moved on by setTime (servePage reads it on every request).
  const now = new Date('2026-11-03T02:00:00Z');
  let token: string;
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-walkthrough-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(OCT, '2026-10', square(117.05, 36.65))], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['admin1', 'admin']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'walkthrough-page-secret-walkthrough-1', now, locale: 'en-US', viewport: { width: 1366, height: 768 } }));
    // Put under 持续监测 through the API, re-check by 2026-11-20.
    token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } })).json().token;
    expect((await post(`/api/polygons/${OCT}/accept`, {})).statusCode).toBe(200);
    const verdict = { verdict: 'other', situation: 'continuous_monitoring', reason: '现场推堆土，用途不明', watch: '是否起建筑', recheck_on: '2026-11-20' };
    expect((await post(`/api/polygons/${OCT}/verdict`, verdict)).statusCode).toBe(200);
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT}`, 'nr', consoleErrors);
    await page.waitForSelector('#card-monitoring', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the sign-in form's empty required field is told in Chinese, not in the browser's English", async () => {
    const lp = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 768 } });
    const errors: string[] = [];
    lp.on('pageerror', (e) => errors.push(e.message));
    await lp.goto(base);
    await lp.waitForSelector('#login:not([hidden])');
    expect(await lp.evaluate(() => navigator.language)).toBe('en-US');
    await lp.click('#login-submit');
    expect(await validationMessage(lp, '#login-name')).toBe('请填写此项');
    // Typed in, the message is gone and the form goes through.
    await lp.fill('#login-name', 'nr');
    expect(await validationMessage(lp, '#login-name')).toBe('');
    await lp.fill('#login-password', PASSWORD);
    await lp.press('#login-password', 'Enter');
    await lp.waitForSelector('#app:not([hidden])');
    expect(errors).toEqual([]);
    await lp.close();
  });

  it('before the re-check date, the card offers 调整复查期限', async () => {
    expect(await page.textContent('#card-monitoring')).toContain('复查期限 2026-11-20');
    expect(await page.$('#more-recheck-date')).not.toBeNull();
    expect(await page.$('#recheck-late')).toBeNull();
  });

  it("the card's forms say what is missing or out of range in Chinese, and go through once it is put right", async () => {
    // 复查判定 with nothing chosen: the verdict radios are required.
    await page.click('#monitoring-verdict #verdict-submit');
    expect(await validationMessage(page, '#monitoring-verdict input[name=verdict][value=legal]')).toBe('请选择其中一项');
    // 其他 chosen: 情形 is required (a select), then 持续监测's 关注事项 (a textarea).
    await page.check('#monitoring-verdict input[name=verdict][value=other]');
    await page.click('#monitoring-verdict #verdict-submit');
    expect(await validationMessage(page, '#monitoring-verdict #other-situation')).toBe('请在列表中选择一项');
    expect(await validationMessage(page, '#monitoring-verdict input[name=verdict][value=legal]')).toBe('');
    await page.selectOption('#monitoring-verdict #other-situation', 'continuous_monitoring');
    await page.fill('#monitoring-verdict #other-reason', '堆土未动');
    await page.click('#monitoring-verdict #verdict-submit');
    expect(await validationMessage(page, '#monitoring-verdict #other-watch')).toBe('请填写此项');
    // A date before the field's min (today on the server's calendar) is said with the date.
    await page.fill('#monitoring-verdict #other-watch', '是否起建筑');
    await page.fill('#monitoring-verdict #other-recheck', '2026-11-01');
    await page.click('#monitoring-verdict #verdict-submit');
    expect(await validationMessage(page, '#monitoring-verdict #other-recheck')).toBe('日期不能早于 2026-11-03');
    // Another form, the same words: the notes' empty text.
    await page.click('#more-notes summary');
    await page.click('#submit-notes');
    expect(await validationMessage(page, '#more-notes textarea[name=text]')).toBe('请填写此项');
    // Put right, each goes through: no message stays behind to hold a form back.
    await page.fill('#more-notes textarea[name=text]', '已电话联系村委');
    await page.click('#submit-notes');
    await expect.poll(() => page.textContent('#history')).toContain('已电话联系村委');
    // A field the chosen verdict hides holds nothing back (before, its min/max still counted, with a
    // message nobody could see): a 复查期限 typed out of range, once another 情形 is chosen …
    const form = '#monitoring-verdict #verdict-form';
    const valid = () => page.$eval(form, (f) => (f as HTMLFormElement).checkValidity());
    await page.check('#monitoring-verdict input[name=verdict][value=other]');
    await page.selectOption('#monitoring-verdict #other-situation', 'continuous_monitoring');
    await page.fill('#monitoring-verdict #other-reason', '堆土未动');
    await page.fill('#monitoring-verdict #other-watch', '是否起建筑');
    await page.fill('#monitoring-verdict #other-recheck', '2026-11-01');
    expect(await valid()).toBe(false);
    const otherSituation = await page.$eval('#monitoring-verdict #other-situation', (s) => [...(s as HTMLSelectElement).options].map((o) => o.value).find((v) => v && v !== 'continuous_monitoring'));
    await page.selectOption('#monitoring-verdict #other-situation', otherSituation!);
    expect(await valid()).toBe(true);
    // … and 违法's future 巡查首次发现时间 once 其他 is chosen again.
    await page.check('#monitoring-verdict input[name=verdict][value=illegal]');
    await page.fill('#monitoring-verdict input[name=patrol_found_on]', '2099-01-01');
    await page.check('#monitoring-verdict input[name=verdict][value=other]');
    expect(await valid()).toBe(true);
    // Shown again, the out-of-range date counts again.
    await page.selectOption('#monitoring-verdict #other-situation', 'continuous_monitoring');
    expect(await valid()).toBe(false);
  });

  it('the admin starts with the focus on the 账户 tab, the accounts listed after it', async () => {
    const ap = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 768 } });
    const errors: string[] = [];
    await openSignedIn(ap, base, '/', 'admin1', errors);
    await ap.waitForSelector('#users-table');
    await expect.poll(() => ap.evaluate(() => document.activeElement?.id)).toBe('tab-users');
    // Tab goes on to the accounts: the first one's 停用 (admin1's own row has none).
    await ap.keyboard.press('Tab');
    expect(await ap.evaluate(() => document.activeElement?.closest('#users-table') != null)).toBe(true);
    expect(errors).toEqual([]);
    await ap.close();
  });

  it('asked nothing of the internet and logged no error but the chips this batch without imagery lacks', () => {
    expect(external).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });

  it('once the re-check date has passed, the card offers no 调整复查期限 but says why, and the server still refuses it (409)', async () => {
    // Three weeks on: the sessions of the 3rd have expired (the first page's too, done with above), so the bureau signs in again.
    await page.close();
    now.setTime(Date.parse('2026-11-25T02:00:00Z'));
    const lp = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 768 } });
    const errors: string[] = [];
    await openSignedIn(lp, base, `/?epoch=2026-10&case=${OCT}`, 'nr', errors);
    await lp.waitForSelector('#card-monitoring', { timeout: 60_000 });
    expect(await lp.$('#more-recheck-date')).toBeNull();
    expect(await lp.textContent('#recheck-late')).toContain('复查期限 2026-11-20 已过，不能再调整');
    expect(await lp.textContent('#recheck-late')).toContain('复查判定');
    // What it points at is there: the 复查判定 form.
    expect(await lp.isVisible('#monitoring-verdict #verdict-form')).toBe(true);
    token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } })).json().token;
    const moved = await post(`/api/polygons/${OCT}/recheck-date`, { recheck_on: '2026-12-10', reason: '待下期影像' });
    expect(moved.statusCode).toBe(409);
    expect(moved.json().code).toBe('CASE.BAD_STATE');
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await lp.close();
  });
});
