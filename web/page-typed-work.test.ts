/**
 * What a month's walkthrough as the bureau found (stop 40): a card's forms lost what was typed.
 * - A rectification report typed, then its photo uploaded (the natural order): the upload re-drew the
 *   card and the report, not yet sent, was gone. So did saving a note while another form was filled in.
 * - 修改判定 opened empty: a correction of the violation type, sent as the page offered it, dropped the
 *   当事人, 实际用途, 违法性质 and 巡查首次发现时间 recorded with the verdict (a verdict is replaced whole),
 *   and with them the ledger's columns; the card did not show the 当事人 or 实际用途 either.
 * Debian's /usr/bin/chromium through playwright-core, as web/page.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, jpegWithExif, openTestDatabase, PASSWORD, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

const RECT = '370102-202610-0001';
const CORRECT = '370102-202610-0002';

describe.skipIf(!haveBrowser)("the card keeps what the bureau typed and recorded", () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  const now = new Date('2026-11-03T02:00:00Z');
  let token: string;
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${token}` } });
  const card = async (code: string) => (await app.inject({ method: 'GET', url: `/api/polygons/${code}`, headers: { authorization: `Bearer ${token}` } })).json();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-typed-work-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(RECT, '2026-10', square(117.05, 36.65)), polygon(CORRECT, '2026-10', square(117.06, 36.65))], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'typed-work-page-secret-typed-work-1', now }));
    token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } })).json().token;
    // Both judged illegal through the API; the second with everything the verdict form takes.
    for (const code of [RECT, CORRECT]) expect((await post(`/api/polygons/${code}/accept`, {})).statusCode).toBe(200);
    expect((await post(`/api/polygons/${RECT}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' })).statusCode).toBe(200);
    const full = { verdict: 'illegal', violation_type: 'illegal_occupation', party: '某村委会', violation_nature: 'organisation', actual_use: '仓储', patrol_found_on: '2026-10-20', note: '现场核实为新建仓库' };
    expect((await post(`/api/polygons/${CORRECT}/verdict`, full)).statusCode).toBe(200);
    await openSignedIn(page, base, `/?epoch=2026-10&case=${RECT}`, 'nr', consoleErrors);
    await page.waitForSelector('#more-rectification', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a rectification report typed, then its photo uploaded: the report is still there, and goes through', async () => {
    await page.selectOption('#more-rectification select[name=method]', 'demolish_restore');
    await page.fill('#more-rectification input[name=progress]', '60');
    await page.fill('#more-rectification input[name=restored_area_m2]', '2000');
    await page.fill('#more-rectification textarea[name=note]', '已拆除东侧厂房');
    await page.setInputFiles('#evidence-file', { name: '现场.jpg', mimeType: 'image/jpeg', buffer: jpegWithExif({ taken: '2026:11:02 10:00:00', lat: 36.6505, lon: 117.0505, azimuth: 90 }) });
    await page.click('#evidence-submit');
    await page.waitForSelector('#evidence-list .evidence-item');
    expect(await page.inputValue('#more-rectification select[name=method]')).toBe('demolish_restore');
    expect(await page.inputValue('#more-rectification input[name=progress]')).toBe('60');
    expect(await page.inputValue('#more-rectification input[name=restored_area_m2]')).toBe('2000');
    expect(await page.inputValue('#more-rectification textarea[name=note]')).toBe('已拆除东侧厂房');
    await page.click('#submit-rectification');
    await page.waitForFunction(() => document.querySelector('#card-status')?.textContent === '整改中');
    const c = (await card(RECT)).case;
    expect(c.rectification).toMatchObject({ method: 'demolish_restore', progress: 60, restored_area_m2: 2000 });
  });

  it('a note saved keeps what is typed in another form, and the note form is empty again', async () => {
    // Rectifying, the report's form is folded: the next report is opened to be typed.
    await page.click('#more-rectification summary');
    await page.fill('#more-rectification input[name=progress]', '80');
    await page.click('#more-notes summary');
    await page.fill('#more-notes textarea[name=text]', '已约谈当事人');
    await page.click('#submit-notes');
    await page.waitForFunction(() => document.querySelector('#history')?.textContent?.includes('已约谈当事人'));
    expect(await page.inputValue('#more-rectification input[name=progress]')).toBe('80');
    // The note that went is not offered again (a second click would record it twice).
    expect(await page.inputValue('#more-notes textarea[name=text]')).toBe('');
  });

  it('修改判定 opens with the verdict as recorded; the card shows its 当事人 and 实际用途', async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${CORRECT}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    const shown = await page.textContent('#card-verdict');
    expect(shown).toContain('某村委会');
    expect(shown).toContain('仓储');
    expect(await page.isChecked('#verdict-form input[name=verdict][value=illegal]')).toBe(true);
    expect(await page.inputValue('#violation-type')).toBe('illegal_occupation');
    expect(await page.inputValue('#verdict-form input[name=party]')).toBe('某村委会');
    expect(await page.inputValue('#violation-nature')).toBe('organisation');
    expect(await page.inputValue('#verdict-form [data-for=illegal] input[name=actual_use]')).toBe('仓储');
    expect(await page.inputValue('#verdict-form input[name=patrol_found_on]')).toBe('2026-10-20');
    expect(await page.inputValue('#verdict-form textarea[name=note]')).toBe('现场核实为新建仓库');
  });

  it('a correction of the violation type keeps the rest of the verdict', async () => {
    await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.selectOption('#violation-type', 'farmland_damage');
    // 违法情形 (level 2), which the server took and the ledger shows, can now be given on the page too.
    await page.selectOption('#violation-subtype', 'built_before_approval');
    await page.click('#verdict-submit');
    await page.waitForFunction(() => document.querySelector('#card-verdict')?.textContent?.includes('破坏耕地'));
    const d = (await card(CORRECT)).case.verdict_details;
    expect(d).toMatchObject({ violation_type: 'farmland_damage', violation_subtype: 'built_before_approval', party: '某村委会', violation_nature: 'organisation', actual_use: '仓储', patrol_found_on: '2026-10-20', note: '现场核实为新建仓库' });
  });

  it('no console errors, nothing asked of anywhere else', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    expect(external).toEqual([]);
  });
});
