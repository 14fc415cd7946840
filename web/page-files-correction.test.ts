/**
 * A 纪委 case-file clock ticked by mistake, in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium
 * through playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1): the case files of a
 * penalty against a party member were due at the commission on 12 December, none handed over, and the
 * sweep escalated the case. The bureau unticks 党员/公职人员 (the party is no party member) or clears the
 * decision's day: the 整改进度 form asks for 更正原因（移交纪委期限已过）, required, and sends it; the clock
 * is dropped, the reason is in the card's history, and the escalation stays.
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

const UNTICKED = '370102-202610-0001';
const UNDATED = '370102-202610-0002';
/** Decided on 14 November: its files are due on 14 December, the day the card is loaded. */
const LATE = '370102-202610-0003';
const REASON = '当事人经核实非党员，误勾选';

describe.skipIf(!haveBrowser)('a 纪委 case-file clock past its day, dropped as a mistake on the card, in Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const notFound: string[] = [];
  const form = '#more-rectification';
  /** The server's options; its clock (now) is moved past LATE's day by the last test. */
  let served: { dataDir: string; secret: string; now: Date };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-files-correction-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(UNTICKED, '2026-10', square(117.05, 36.65)), polygon(UNDATED, '2026-10', square(117.06, 36.65)), polygon(LATE, '2026-10', square(117.07, 36.65))], '2026-11-02');
    await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
    served = { dataDir: join(dir, 'data'), secret: 'files-correction-page-secret-0001', now: new Date('2026-12-14T02:00:00Z') };
    ({ app, browser, page, base } = await servePage(db, served));
    const nr = await token('nr');
    const post = async (auth: string, url: string, payload: object = {}) => {
      const r = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${auth}` }, payload });
      expect([url, r.statusCode], r.body).toEqual([url, 200]);
    };
    for (const code of [UNTICKED, UNDATED]) {
      await post(nr, `/api/polygons/${code}/accept`);
      await post(nr, `/api/polygons/${code}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
      // Decided on 12 November: the files were due on 12 December.
      await post(nr, `/api/polygons/${code}/rectification`, { method: 'fine', progress: 50, case_filed: true, party_official: true, penalty_decided_on: '2026-11-12' });
    }
    await post(nr, `/api/polygons/${LATE}/accept`);
    await post(nr, `/api/polygons/${LATE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' });
    await post(nr, `/api/polygons/${LATE}/rectification`, { method: 'fine', progress: 50, case_filed: true, party_official: true, penalty_decided_on: '2026-11-14' });
    await post(await token('chief'), '/api/sweep');
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

  const token = async (name: string) => (await app.inject({ method: 'POST', url: '/api/session', payload: { name, password: PASSWORD } })).json().token as string;
  const stored = async (code: string) => (await db.query<{ r: Record<string, unknown> }>('SELECT rectification AS r FROM cases WHERE code = $1', [code])).rows[0].r;
  const escalations = async (code: string) => (await db.query<{ rule: string }>(`SELECT rule FROM escalations WHERE code = $1 AND rule = 'penalty_files'`, [code])).rows.length;

  async function openCard(code: string): Promise<void> {
    if (await page.isVisible('#card-back')) await page.click('#card-back');
    await page.click('#tab-inbox');
    await page.click(`#inbox-list button.item[data-code="${code}"]`);
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await page.waitForSelector('#card-body .facts');
    if (!(await page.isVisible(`${form} input[name=progress]`))) await page.click(`${form} summary`);
  }

  it('asks for the reason once 党员/公职人员 is unticked, requires it, sends it; the clock is dropped, the history says why, the escalation stays', async () => {
    expect([(await stored(UNTICKED)).files_due, await escalations(UNTICKED)]).toEqual(['2026-12-12', 1]);
    await openCard(UNTICKED);
    const reason = `${form} textarea[name=files_clock_correction]`;
    // Ticked, with its day: nothing to give.
    expect(await page.isVisible(reason)).toBe(false);
    await page.uncheck(`${form} input[name=party_official]`);
    expect(await page.isVisible(reason)).toBe(true);
    expect(await page.textContent('#files-correction')).toContain('更正原因（移交纪委期限已过）');
    expect(await page.textContent('#files-correction')).toContain('登记');
    // Ticked again: hidden, and not sent.
    await page.check(`${form} input[name=party_official]`);
    expect(await page.isVisible(reason)).toBe(false);
    await page.uncheck(`${form} input[name=party_official]`);
    // Required: the form is not sent without it.
    await page.click('#submit-rectification');
    expect(await page.$eval(reason, (el) => (el as HTMLTextAreaElement).validity.valueMissing)).toBe(true);
    expect((await stored(UNTICKED)).files_due).toBe('2026-12-12');
    await page.fill(reason, REASON);
    await page.click('#submit-rectification');
    await expect.poll(async () => (await stored(UNTICKED)).party_official).toBe(false);
    const rect = await stored(UNTICKED);
    expect(['files_due' in rect, 'files_clock_correction' in rect]).toEqual([false, false]);
    await expect.poll(() => page.textContent('#history')).toContain(`撤销案卷移交纪委期限 2026-12-12（更正原因：${REASON}）`);
    expect(await escalations(UNTICKED)).toBe(1);
    // The clock gone, the reopened form asks for nothing.
    if (!(await page.isVisible(`${form} input[name=progress]`))) await page.click(`${form} summary`);
    expect(await page.$(reason)).toBeNull();
  });

  it('asks for it when the decision’s day is cleared, and not once it is given again', async () => {
    await openCard(UNDATED);
    const reason = `${form} textarea[name=files_clock_correction]`;
    expect(await page.isVisible(reason)).toBe(false);
    await page.fill(`${form} input[name=penalty_decided_on]`, '');
    expect(await page.isVisible(reason)).toBe(true);
    await page.fill(`${form} input[name=penalty_decided_on]`, '2026-11-12');
    expect(await page.isVisible(reason)).toBe(false);
    await page.fill(`${form} input[name=penalty_decided_on]`, '');
    await page.fill(reason, '处罚决定日期误填（决定尚未作出）');
    await page.click('#submit-rectification');
    await expect.poll(async () => 'penalty_decided_on' in (await stored(UNDATED))).toBe(false);
    expect('files_due' in (await stored(UNDATED))).toBe(false);
    await expect.poll(() => page.textContent('#history')).toContain('更正原因：处罚决定日期误填（决定尚未作出）');
    expect(notFound.filter((p) => !/^\/api\/polygons\/[\w-]+\/chips\/(before|after)\.png$/.test(p))).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
  });

  it('asks for it when the day passed after the card was loaded (midnight came while the form was open)', async () => {
    // The card said the files' day was still ahead (files_overdue false): the form drew no 更正原因, and
    // the server refused the unticked box after midnight, its refusal asking to reload the page.
    // 23:50 in China on the 14th, on the server and on this computer; signed in afresh (a session lasts 12 hours).
    // The page left first: its lists' poll, seeing the clock jump, would ask with the expired session.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto('about:blank');
    served.now = new Date('2026-12-14T15:50:00Z');
    await page.clock.setFixedTime(served.now);
    await page.goto(`${base}/?epoch=2026-10`);
    await page.fill('#login-name', 'nr');
    await page.fill('#login-password', PASSWORD);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('#inbox-list button.item', { timeout: 60_000 });
    expect([(await stored(LATE)).files_due, await escalations(LATE)]).toEqual(['2026-12-14', 0]);
    await openCard(LATE);
    const reason = `${form} textarea[name=files_clock_correction]`;
    // Due today, not passed: unticked, nothing to give.
    await page.uncheck(`${form} input[name=party_official]`);
    expect(await page.isVisible(reason)).toBe(false);
    await page.check(`${form} input[name=party_official]`);
    // A sweep just run: the next runs 10 s on (at a read), the case unchanged (not escalated) until then.
    const sweep = await app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${await token('chief')}` } });
    expect(sweep.statusCode).toBe(200);
    // 00:10 on the 15th: the day has passed.
    served.now = new Date('2026-12-14T16:10:00Z');
    await page.clock.setFixedTime(served.now);
    await page.uncheck(`${form} input[name=party_official]`);
    expect(await page.isVisible(reason)).toBe(true);
    expect(await page.textContent('#files-correction')).toContain('2026-12-14');
    await page.click('#submit-rectification');
    expect(await page.$eval(reason, (el) => (el as HTMLTextAreaElement).validity.valueMissing)).toBe(true);
    await page.fill(reason, REASON);
    await page.click('#submit-rectification');
    await expect.poll(async () => (await stored(LATE)).party_official).toBe(false);
    expect('files_due' in (await stored(LATE))).toBe(false);
    await expect.poll(() => page.textContent('#history')).toContain(`撤销案卷移交纪委期限 2026-12-14（更正原因：${REASON}）`);
    expect(consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
  });
});
