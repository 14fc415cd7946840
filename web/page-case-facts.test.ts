/**
 * The card's forms for 违法性质 and 补办手续 in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium
 * through playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1): the bureau judges a
 * polygon 违法 with its 违法性质; the 整改进度 form shows 补办手续批准文号 and 面积 only with 补办手续 or
 * 拆补组合 and sends them only then; a 违法性质 found later goes with the report; an approved area past
 * the site's bound is refused in Chinese.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

const JUDGED = '370102-202610-0001';
const LATER = '370102-202610-0002';

describe.skipIf(!haveBrowser)('违法性质 and 补办手续 on the card, in Chromium', () => {
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
    dir = await mkdtemp(join(tmpdir(), 'tuban-case-facts-page-'));
    db = await openTestDatabase();
    // 9000 m² each (13.5 亩), the natural resources bureau's.
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(JUDGED, '2026-10', square(117.05, 36.65)), polygon(LATER, '2026-10', square(117.06, 36.65))], '2026-11-02');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'case-facts-page-secret-case-facts-01', now: new Date('2026-11-05T02:00:00Z') }));
    // These polygons have no imagery stored: their chips are 404, which the card shows as such.
    page.on('response', (r) => void (r.status() === 404 && notFound.push(new URL(r.url()).pathname)));
    await openSignedIn(page, base, '/?epoch=2026-10', 'nr', consoleErrors);
    await page.waitForSelector('#inbox-list button.item', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stored = async (code: string) => (await db.query<{ d: Record<string, unknown> | null; r: Record<string, unknown> | null }>('SELECT verdict_details AS d, rectification AS r FROM cases WHERE code = $1', [code])).rows[0];

  async function openCard(code: string): Promise<void> {
    if (await page.isVisible('#card-back')) await page.click('#card-back');
    await page.click('#tab-inbox');
    await page.click(`#inbox-list button.item[data-code="${code}"]`);
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await page.waitForSelector('#card-body .facts');
  }

  async function judgeIllegal(code: string, nature?: string): Promise<void> {
    await openCard(code);
    if (await page.isVisible('#act-accept')) {
      await page.click('#act-accept');
      await expect.poll(() => page.textContent('#card-status')).toBe('核查中');
    }
    await page.waitForSelector('#verdict-form');
    await page.check('#verdict-form input[name=verdict][value=illegal]');
    await page.selectOption('#violation-type', 'illegal_occupation');
    if (nature) await page.selectOption('#violation-nature', nature);
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#card-status')).toBe('已判定');
  }

  it('records 违法性质 with the 违法 verdict, and the card says it', async () => {
    // Its labels come from the server's vocabulary (schemas/workflow.ts).
    await openCard(JUDGED);
    await page.click('#act-accept');
    await page.waitForSelector('#verdict-form');
    await page.check('#verdict-form input[name=verdict][value=illegal]');
    expect(await page.$$eval('#violation-nature option', (os) => os.map((o) => o.textContent))).toEqual(['未定', '个人违法', '单位违法', '政府及部门违法']);
    await judgeIllegal(JUDGED, 'organisation');
    expect((await stored(JUDGED)).d).toMatchObject({ violation_type: 'illegal_occupation', violation_nature: 'organisation' });
    expect(await page.textContent('#card-body')).toContain('单位违法');
  });

  it('shows 补办手续批准文号, 面积 and 其中耕地面积 with 补办手续 or 拆补组合 only, sends them then, and refuses an area past its bound in Chinese', async () => {
    const form = '#more-rectification';
    // Its labels' brackets are full-width （）, as the page's other labels.
    const labels = await page.$$eval(`${form} label`, (ls) => ls.map((l) => l.firstChild?.textContent?.trim() ?? ''));
    expect(labels).toContain('完成比例（%）');
    expect(labels.filter((t) => /[()]/.test(t))).toEqual([]);
    expect(await page.isVisible(`${form} input[name=retroactive_doc_no]`)).toBe(false);
    await page.selectOption(`${form} select[name=method]`, 'combined');
    expect(await page.isVisible(`${form} input[name=retroactive_doc_no]`)).toBe(true);
    expect(await page.isVisible(`${form} input[name=retroactive_farmland_m2]`)).toBe(true);
    await page.fill(`${form} input[name=progress]`, '40');
    await page.fill(`${form} input[name=retroactive_doc_no]`, '济自然资补〔2026〕3号');
    // 13 501 m² is more than 1.5 × the site's 9000 m².
    await page.fill(`${form} input[name=retroactive_area_m2]`, '13501');
    const before = consoleErrors.length;
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#toast')).toContain('补办手续批准面积超过图斑监测面积的 1.5 倍（最多 13500 平方米）');
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('400')]);
    expect((await stored(JUDGED)).r).toBeNull();
    await page.fill(`${form} input[name=retroactive_area_m2]`, '6000');
    // 其中耕地 is part of the approved area: more is refused, in Chinese.
    await page.fill(`${form} input[name=retroactive_farmland_m2]`, '6001');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#toast')).toContain('其中耕地面积不能大于补办手续批准面积');
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('400')]);
    expect((await stored(JUDGED)).r).toBeNull();
    await page.fill(`${form} input[name=retroactive_farmland_m2]`, '2000');
    // 拆补组合: the demolished and the approved parts together are at most 1.5 × the site too.
    await page.fill(`${form} input[name=restored_area_m2]`, '8000');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#toast')).toContain('拆除复耕面积与补办手续批准面积之和超过图斑监测面积的 1.5 倍（最多 13500 平方米）');
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('400')]);
    expect((await stored(JUDGED)).r).toBeNull();
    await page.fill(`${form} input[name=restored_area_m2]`, '');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-status')).toBe('整改中');
    expect((await stored(JUDGED)).r).toMatchObject({ method: 'combined', retroactive_doc_no: '济自然资补〔2026〕3号', retroactive_area_m2: 6000, retroactive_farmland_m2: 2000 });
    expect(await page.textContent('#card-rectification')).toContain('其中耕地 2,000 m²');
    expect(await page.textContent('#card-rectification')).toContain('补办手续 济自然资补〔2026〕3号');
    // Turned to demolition: the fields hide and are not sent (the server would refuse them there).
    await page.click(`${form} summary`);
    expect(await page.inputValue(`${form} input[name=retroactive_doc_no]`)).toBe('济自然资补〔2026〕3号');
    await page.selectOption(`${form} select[name=method]`, 'demolish_restore');
    expect(await page.isVisible(`${form} input[name=retroactive_doc_no]`)).toBe(false);
    await page.click('#submit-rectification');
    await expect.poll(async () => (await stored(JUDGED)).r?.method).toBe('demolish_restore');
    expect(Object.keys((await stored(JUDGED)).r!).filter((k) => k.startsWith('retroactive'))).toEqual([]);
  });

  it('sends a 违法性质 found later with the 整改进度 report, kept with the verdict', async () => {
    await judgeIllegal(LATER);
    expect((await stored(LATER)).d).not.toHaveProperty('violation_nature');
    const form = '#more-rectification';
    await page.selectOption(`${form} select[name=method]`, 'demolish_restore');
    await page.fill(`${form} input[name=progress]`, '10');
    await page.selectOption(`${form} select[name=violation_nature]`, 'individual');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-status')).toBe('整改中');
    expect((await stored(LATER)).d).toMatchObject({ violation_nature: 'individual' });
    expect(await page.textContent('#card-body')).toContain('个人违法');
    // The next report's form starts from it.
    await page.click(`${form} summary`);
    expect(await page.inputValue(`${form} select[name=violation_nature]`)).toBe('individual');
  });

  it('a figure reported by mistake and cleared in the next 整改进度 is gone from the case, not kept while the page says 已提交', async () => {
    const form = '#more-rectification';
    await page.fill(`${form} input[name=progress]`, '30');
    await page.check(`${form} input[name=case_filed][value=true]`);
    await page.fill(`${form} input[name=case_filed_on]`, '2026-11-04');
    await page.fill(`${form} input[name=fine_amount_yuan]`, '5000');
    // The day of the decision is today at the latest (the server refuses a day to come: its 纪委 clock would start late).
    // (The browser's own today, as 立案日期's.)
    const today = await page.getAttribute(`${form} input[name=case_filed_on]`, 'max');
    expect([today, await page.getAttribute(`${form} input[name=penalty_decided_on]`, 'max')]).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d$/), today]);
    await page.fill(`${form} input[name=penalty_decided_on]`, '2026-11-05');
    await page.fill(`${form} input[name=restored_area_m2]`, '300');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-rectification')).toContain('罚没 5000.00 元');
    expect((await stored(LATER)).r).toMatchObject({ progress: 30, case_filed_on: '2026-11-04', fine_amount_yuan: 5000, penalty_decided_on: '2026-11-05', restored_area_m2: 300 });
    // The fine was another case's, the area not measured yet, the decision not made, the 违法性质 not settled: cleared.
    await page.click(`${form} summary`);
    await page.fill(`${form} input[name=progress]`, '40');
    await page.fill(`${form} input[name=fine_amount_yuan]`, '');
    await page.fill(`${form} input[name=penalty_decided_on]`, '');
    await page.fill(`${form} input[name=restored_area_m2]`, '');
    await page.selectOption(`${form} select[name=violation_nature]`, '');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-rectification')).toContain('完成 40%');
    expect(await page.textContent('#toast')).toBe('整改进度已提交');
    const { r, d } = await stored(LATER);
    expect(r).toMatchObject({ progress: 40, case_filed: true, case_filed_on: '2026-11-04' });
    expect(['fine_amount_yuan', 'penalty_decided_on', 'restored_area_m2'].filter((k) => k in r!)).toEqual([]);
    expect(d).not.toHaveProperty('violation_nature');
    expect(await page.textContent('#card-rectification')).not.toContain('罚没');
    expect(await page.textContent('#card-rectification')).not.toContain('拆除复耕 300 m²');
    expect(await page.textContent('#card-verdict')).not.toContain('个人违法');
    // The next report's form starts from what is recorded: empty.
    await page.click(`${form} summary`);
    expect(await page.inputValue(`${form} input[name=fine_amount_yuan]`)).toBe('');
    expect(await page.inputValue(`${form} input[name=restored_area_m2]`)).toBe('');
  });

  it('asked nothing of the internet and logged no error but the missing chips’ 404', () => {
    expect(external).toEqual([]);
    // The browser's own line for each chip's 404; nothing else.
    expect(notFound.filter((p) => !/^\/api\/polygons\/[\w-]+\/chips\/(before|after)\.png$/.test(p))).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
  });
});
