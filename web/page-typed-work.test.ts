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
const STALE = '370102-202610-0003';
const USE = '370102-202610-0004';
const SPLIT = '370102-202610-0005';
const NOTE = '370102-202610-0006';
const PICK = '370102-202610-0007';
/** The halves of SPLIT's square (square(117.08, 36.65)). */
const half = (lon: number) => ({ type: 'Polygon', coordinates: [[[lon, 36.65], [lon + 0.0005, 36.65], [lon + 0.0005, 36.651], [lon, 36.651], [lon, 36.65]]] });

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
    const sites: [string, number][] = [[RECT, 117.05], [CORRECT, 117.06], [STALE, 117.07], [USE, 117.09], [SPLIT, 117.08], [NOTE, 117.1], [PICK, 117.11]];
    await writeBatch(db, 'b-2026-10', '2026-10', sites.map(([code, lon]) => polygon(code, '2026-10', square(lon, 36.65))), '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'typed-work-page-secret-typed-work-1', now }));
    token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } })).json().token;
    // Both judged illegal through the API; the second with everything the verdict form takes.
    for (const [code] of sites) expect((await post(`/api/polygons/${code}/accept`, {})).statusCode).toBe(200);
    expect((await post(`/api/polygons/${RECT}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' })).statusCode).toBe(200);
    const full = { verdict: 'illegal', violation_type: 'illegal_occupation', party: '某村委会', violation_nature: 'organisation', actual_use: '仓储', patrol_found_on: '2026-10-20', note: '现场核实为新建仓库' };
    for (const code of [CORRECT, NOTE]) expect((await post(`/api/polygons/${code}/verdict`, full)).statusCode).toBe(200);
    expect((await post(`/api/polygons/${STALE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', party: '张三', actual_use: '仓储' })).statusCode).toBe(200);
    expect((await post(`/api/polygons/${USE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', actual_use: '仓储' })).statusCode).toBe(200);
    // Split in two: the west half a violation, the east half approved.
    expect((await post(`/api/polygons/${SPLIT}/split`, { parcels: [half(117.08), half(117.0805)] })).statusCode).toBe(200);
    expect((await post(`/api/polygons/${SPLIT}/verdict`, { parcel: 1, verdict: 'illegal', violation_type: 'illegal_occupation', party: '赵六', violation_nature: 'individual', actual_use: '厂房', note: '西半部新建厂房' })).statusCode).toBe(200);
    expect((await post(`/api/polygons/${SPLIT}/verdict`, { parcel: 2, verdict: 'legal', approval_doc_no: '济政土批〔2026〕3号', actual_use: '住宅' })).statusCode).toBe(200);
    // Split in two, only the east half judged yet (approved): the verdict form is the first one, not 修改判定.
    expect((await post(`/api/polygons/${PICK}/split`, { parcels: [half(117.11), half(117.1105)] })).statusCode).toBe(200);
    expect((await post(`/api/polygons/${PICK}/verdict`, { parcel: 2, verdict: 'legal', approval_doc_no: '济政土批〔2026〕5号', actual_use: '住宅', note: '东半部已批' })).statusCode).toBe(200);
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
    // Put back once the lists and the map are refreshed too (act's emit('changed')).
    await expect.poll(() => page.inputValue('#more-rectification input[name=progress]')).toBe('80');
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

  it("a save refused as stale keeps what the user changed, and takes the colleague's correction for the rest", async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${STALE}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.selectOption('#violation-type', 'farmland_damage');
    // Meanwhile a colleague corrects the 当事人 (this card still shows 张三).
    expect((await post(`/api/polygons/${STALE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation', party: '李四', actual_use: '仓储' })).statusCode).toBe(200);
    const before = consoleErrors.length;
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#card-verdict')).toContain('李四');
    // The card as it now is, with the user's own change put back, not the old card's 张三.
    await expect.poll(() => page.inputValue('#violation-type')).toBe('farmland_damage');
    expect(await page.inputValue('#verdict-form input[name=party]')).toBe('李四');
    await page.click('#verdict-submit');
    await page.waitForFunction(() => document.querySelector('#card-verdict')?.textContent?.includes('破坏耕地'));
    expect((await card(STALE)).case.verdict_details).toMatchObject({ violation_type: 'farmland_damage', party: '李四', actual_use: '仓储' });
    // Chromium logs the refused POST (409): this check's, not the page's.
    // (The card's imagery chips meanwhile: 404s, the fixtures have none.)
    const logged = () => consoleErrors.slice(before).filter((e) => !/status of 404/.test(e));
    await expect.poll(() => logged().length).toBe(1);
    expect(logged()).toEqual([expect.stringContaining('409')]);
    consoleErrors.splice(before);
  });

  it('a 实际用途 changed in 修改判定 is still there after a note is saved', async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${USE}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.fill('#verdict-form [data-for=illegal] input[name=actual_use]', '厂房');
    await page.click('#more-notes summary');
    await page.fill('#more-notes textarea[name=text]', '实际用途待核');
    await page.click('#submit-notes');
    await page.waitForFunction(() => document.querySelector('#history')?.textContent?.includes('实际用途待核'));
    // Put back once the lists and the map are refreshed too (act's emit('changed')).
    await expect.poll(() => page.inputValue('#verdict-form [data-for=illegal] input[name=actual_use]')).toBe('厂房');
    await page.click('#verdict-submit');
    await page.waitForFunction(() => document.querySelector('#card-verdict')?.textContent?.includes('厂房'));
    expect((await card(USE)).case.verdict_details).toMatchObject({ violation_type: 'illegal_occupation', actual_use: '厂房' });
  });

  it("修改判定 of a split polygon opens the chosen parcel's verdict as recorded, and a correction keeps the rest of it", async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${SPLIT}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.selectOption('#verdict-parcel', '2');
    expect(await page.isChecked('#verdict-form input[name=verdict][value=legal]')).toBe(true);
    expect(await page.inputValue('#approval-doc')).toBe('济政土批〔2026〕3号');
    expect(await page.inputValue('#legal-use')).toBe('住宅');
    await page.selectOption('#verdict-parcel', '1');
    expect(await page.isChecked('#verdict-form input[name=verdict][value=illegal]')).toBe(true);
    expect(await page.inputValue('#violation-type')).toBe('illegal_occupation');
    expect(await page.inputValue('#verdict-form input[name=party]')).toBe('赵六');
    expect(await page.inputValue('#violation-nature')).toBe('individual');
    expect(await page.inputValue('#verdict-form [data-for=illegal] input[name=actual_use]')).toBe('厂房');
    expect(await page.inputValue('#verdict-form textarea[name=note]')).toBe('西半部新建厂房');
    // Not parcel 2's: its 批准文号 is not left behind in parcel 1's form.
    expect(await page.inputValue('#approval-doc')).toBe('');
    await page.selectOption('#violation-type', 'farmland_damage');
    await page.click('#verdict-submit');
    await expect.poll(async () => (await card(SPLIT)).parcels.find((x: { idx: number }) => x.idx === 1).verdict_details).toMatchObject({ violation_type: 'farmland_damage', party: '赵六', violation_nature: 'individual', actual_use: '厂房', note: '西半部新建厂房' });
    expect((await card(SPLIT)).parcels.find((x: { idx: number }) => x.idx === 2).verdict_details).toMatchObject({ approval_doc_no: '济政土批〔2026〕3号', actual_use: '住宅' });
  });

  it('a 备注 recorded with the verdict stays when the verdict is changed, and the form says it goes with the new one', async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${NOTE}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    expect(await page.isHidden('#verdict-note-hint')).toBe(true);
    await page.check('#verdict-form input[name=verdict][value=legal]');
    expect(await page.isVisible('#verdict-note-hint')).toBe(true);
    expect(await page.textContent('#verdict-note-hint')).toContain('违法');
    expect(await page.inputValue('#verdict-form textarea[name=note]')).toBe('现场核实为新建仓库');
    // 其他 takes no 备注 (its 理由 says it): neither the note nor the hint is shown.
    await page.check('#verdict-form input[name=verdict][value=other]');
    expect(await page.isHidden('#verdict-note-hint')).toBe(true);
    await page.check('#verdict-form input[name=verdict][value=legal]');
    await page.fill('#approval-doc', '济政土批〔2026〕9号');
    await page.click('#verdict-submit');
    await page.waitForFunction(() => document.querySelector('#card-verdict')?.textContent?.includes('济政土批〔2026〕9号'));
    // As shown: the note went with the legal verdict (the ledger's 备注); the violation's facts did not.
    const d = (await card(NOTE)).case.verdict_details;
    expect(d).toEqual({ approval_doc_no: '济政土批〔2026〕9号', note: '现场核实为新建仓库' });
  });

  it('a parcel chosen after the verdict was typed keeps what was typed; the untouched fields take the parcel\'s record', async () => {
    await page.goto(`${base}/?epoch=2026-10&case=${PICK}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.check('#verdict-form input[name=verdict][value=illegal]');
    await page.selectOption('#violation-type', 'illegal_occupation');
    await page.fill('#verdict-form input[name=party]', '钱七');
    const typed = async () => ({
      illegal: await page.isChecked('#verdict-form input[name=verdict][value=illegal]'),
      type: await page.inputValue('#violation-type'),
      party: await page.inputValue('#verdict-form input[name=party]'),
    });
    // Parcel 2, approved as recorded: what was typed stays; the 备注 not touched is its record's.
    await page.selectOption('#verdict-parcel', '2');
    expect(await typed()).toEqual({ illegal: true, type: 'illegal_occupation', party: '钱七' });
    expect(await page.isVisible('#violation-type')).toBe(true);
    expect(await page.inputValue('#verdict-form textarea[name=note]')).toBe('东半部已批');
    expect(await page.inputValue('#approval-doc')).toBe('济政土批〔2026〕5号');
    // Parcel 1, not judged: nothing typed is blanked; the untouched fields are blank again.
    await page.selectOption('#verdict-parcel', '1');
    expect(await typed()).toEqual({ illegal: true, type: 'illegal_occupation', party: '钱七' });
    expect(await page.inputValue('#verdict-form textarea[name=note]')).toBe('');
    await page.click('#verdict-submit');
    await expect.poll(async () => (await card(PICK)).parcels.find((x: { idx: number }) => x.idx === 1).verdict_details).toEqual({ violation_type: 'illegal_occupation', party: '钱七' });
  });

  it("a choice the user made that matches a parcel's record stays the user's when another parcel is chosen", async () => {
    // Both parcels judged now (the test above): 修改判定. 合法 ticked and a 批准文号 typed, then parcel 2
    // (recorded 合法: the choice now reads as its default), then parcel 1 (recorded 违法): 合法 flipped
    // back to 违法, the typed number left in a hidden section.
    await page.goto(`${base}/?epoch=2026-10&case=${PICK}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    if (!(await page.isVisible('#verdict-form'))) await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.selectOption('#verdict-parcel', '1');
    await page.check('#verdict-form input[name=verdict][value=legal]');
    await page.fill('#approval-doc', '济政土批〔2026〕12号');
    await page.selectOption('#verdict-parcel', '2');
    await page.selectOption('#verdict-parcel', '1');
    expect(await page.isChecked('#verdict-form input[name=verdict][value=legal]')).toBe(true);
    expect(await page.isVisible('#approval-doc')).toBe(true);
    expect(await page.inputValue('#approval-doc')).toBe('济政土批〔2026〕12号');
  });

  it('a session that expires on a card offering 修改判定 keeps only what the user changed, and nothing when nothing was', async () => {
    const expire = async () => {
      await page.evaluate(() => ((window as unknown as { tuban: { token: string } }).tuban.token = 'expired'));
      await page.click('#verdict-submit', { timeout: 3000 }).catch(() => undefined);
      await page.waitForSelector('#login:not([hidden])');
    };
    const signIn = async () => {
      await page.fill('#login-name', 'nr');
      await page.fill('#login-password', PASSWORD);
      await page.press('#login-password', 'Enter');
      await page.waitForFunction(() => document.querySelector('#counts')?.textContent?.includes('全部'));
    };
    const before = consoleErrors.length;
    await page.goto(`${base}/?epoch=2026-10&case=${CORRECT}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    // Nothing changed: the verdict as recorded is no draft, and nothing is said restored.
    await expire();
    expect(await page.evaluate(() => sessionStorage.getItem('tuban.draft'))).toBeNull();
    await signIn();
    expect(await page.isHidden('#view-card')).toBe(true);
    expect((await page.textContent('#toast')) ?? '').not.toContain('已恢复');
    // The 当事人 changed: that, and only that, is kept and given back.
    await page.goto(`${base}/?epoch=2026-10&case=${CORRECT}`);
    await page.waitForSelector('#verdict-form', { state: 'attached' });
    await page.click('#actions details.more:has(#verdict-form) > summary');
    await page.fill('#verdict-form input[name=party]', '某公司');
    await expire();
    const draft = JSON.parse((await page.evaluate(() => sessionStorage.getItem('tuban.draft')))!);
    expect(draft.typed.flatMap((t: { fields: { name: string }[] }) => t.fields.map((f) => f.name))).toEqual(['party']);
    await signIn();
    await expect.poll(() => page.textContent('#card-code')).toBe(CORRECT);
    await expect.poll(() => page.inputValue('#verdict-form input[name=party]')).toBe('某公司');
    // The rest as recorded: the card's own values.
    expect(await page.inputValue('#violation-type')).toBe((await card(CORRECT)).case.verdict_details.violation_type);
    await expect.poll(() => page.textContent('#toast')).toContain('已恢复登录过期前');
    for (const e of consoleErrors.splice(before).filter((e) => !/status of 404/.test(e))) expect(e).toContain('401');
  });

  it('no console errors, nothing asked of anywhere else', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    expect(external).toEqual([]);
  });
});
