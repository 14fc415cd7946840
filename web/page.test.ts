/**
 * The page in a real browser: Debian's Chromium (`apt-get install chromium fonts-wqy-microhei`)
 * driven by playwright-core, against the app `tuban serve` runs (server/serve-app.ts: the API,
 * the page, imagery tiles and chips) on 127.0.0.1:0 over a real batch in an embedded database
 * directory, with accounts made by the real user store. Every request that leaves the host is
 * blocked and counted (the page must need none). Screenshots land in out/test-artifacts/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CHROMIUM, CHROMIUM_ARGS, haveBrowser } from '../server/testing/browser.js';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBatch } from '../server/testing/demo-batch.js';
import type { DemoBatch } from '../server/testing/demo-batch.js';
import { addUsers, jpegWithExif, PASSWORD, polygon, writeBatch } from '../server/testing/fixtures.js';
import { buildServeApp } from '../server/serve-app.js';
import { loadCalendar } from '../server/deadlines/calendar.js';
import { DEFAULT_DEADLINES } from '../server/deadlines/rules.js';
import { DEFAULT_RULES } from '../pipeline/route/default-rules.js';
import { csvRows } from '../pipeline/outputs/testing/csv-rows.js';

interface PageUser {
  name: string;
  password: string;
  bureau: string | null;
}

const ARTIFACTS = 'out/test-artifacts';

describe.skipIf(!haveBrowser)('the page in Chromium', () => {
  let dir: string;
  let demo: DemoBatch;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let bureau: PageUser;
  let lead: PageUser;
  let district: PageUser & { code: string };
  let visible: string[];
  /** The polygon the bureau judged illegal, which the lead then finds in the ledger. */
  let judged: string | undefined;
  const external: string[] = [];
  let clock: Date | null = null;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-page-'));
    await mkdir(ARTIFACTS, { recursive: true });
    demo = await demoBatch(dir, { dbTarget: join(dir, 'db'), townships: true, villages: true });
    // A bureau that leads polygons but does not see them all, so "only its own" can fail.
    const top = await demo.db.query<{ lead_bureau: string }>(
      `SELECT b.lead_bureau FROM (SELECT DISTINCT lead_bureau FROM polygons) b
       WHERE (SELECT count(*) FROM polygons p WHERE p.lead_bureau = b.lead_bureau OR p.co_bureaus @> jsonb_build_array(b.lead_bureau))
             < (SELECT count(*) FROM polygons)
       ORDER BY (SELECT count(*) FROM polygons p WHERE p.lead_bureau = b.lead_bureau) DESC, b.lead_bureau LIMIT 1`,
    );
    bureau = { name: 'bureau1', password: PASSWORD, bureau: top.rows[0].lead_bureau };
    lead = { name: 'lead1', password: PASSWORD, bureau: null };
    const d = await demo.db.query<{ code: string }>('SELECT min(district_code) AS code FROM polygons');
    district = { name: 'district1', password: PASSWORD, bureau: null, code: d.rows[0].code };
    await addUsers(demo.db, [
      [bureau.name, 'bureau', bureau.bureau!],
      [lead.name, 'lead'],
      [district.name, 'district', district.code],
      ['admin1', 'admin'],
    ]);
    const v = await demo.db.query<{ code: string }>(
      `SELECT code FROM polygons WHERE lead_bureau = $1 OR co_bureaus @> jsonb_build_array($1::text) ORDER BY code`,
      [bureau.bureau],
    );
    visible = v.rows.map((r) => r.code);
    const served = await buildServeApp({
      db: demo.db,
      dataDir: join(dir, 'data'),
      secret: Buffer.from('page-test-secret-page-test-secret-0123'),
      deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
      webDir: 'web',
      logger: false,
      // The real time, until the last test moves it past the month's deadlines.
      now: () => clock ?? new Date(),
    });
    app = served.app;
    await served.warmed;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await demo?.db.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(user: PageUser, device: { viewport: { width: number; height: number }; isMobile?: boolean; hasTouch?: boolean } = { viewport: { width: 1400, height: 900 } }): Promise<Page> {
    const context = await browser.newContext({ ...device, locale: 'zh-CN' });
    const page = await context.newPage();
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(base + '/');
    await page.fill('#login-name', user.name);
    await page.fill('#login-password', user.password);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('#app:not([hidden])');
    return page;
  }

  /** Pixels of the map in the selected polygon's halo colour (#22d3ee, web/map-layers.js). */
  async function haloPixels(page: Page): Promise<number> {
    const { data, info } = await sharp(await page.locator('#map').screenshot()).raw().toBuffer({ resolveWithObject: true });
    let n = 0;
    for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i] - 0x22) < 40 && Math.abs(data[i + 1] - 0xd3) < 40 && Math.abs(data[i + 2] - 0xee) < 40) n++;
    return n;
  }

  /**
   * The console errors logged since `before`, taken out of the list once no more can come: Chromium
   * logs a failed request's line on its own time, which can be after the page has shown the failure
   * (a late one then failed the last test's "no errors" under load). Where the test is done with the
   * page, its context is closed first; else the list must stay still for half a second.
   */
  async function closeAndTakeErrors(page: Page, before: number): Promise<string[]> {
    await page.context().close();
    return consoleErrors.splice(before);
  }
  async function settledErrors(before: number): Promise<string[]> {
    for (let seen = -1; seen !== consoleErrors.length; ) {
      seen = consoleErrors.length;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return consoleErrors.splice(before);
  }

  /** Map style loaded, every tile in view loaded, nothing moving (return the promise: it must really wait). */
  async function mapIdle(page: Page): Promise<void> {
    await page.waitForFunction(() => {
      const t = (window as unknown as { tuban: { mapReady: boolean; map: { loaded(): boolean; areTilesLoaded(): boolean; isMoving(): boolean } } }).tuban;
      return t.mapReady && t.map.loaded() && t.map.areTilesLoaded() && !t.map.isMoving();
    }, undefined, { timeout: 60_000 });
  }

  it('refuses a wrong password with a clear message', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base + '/');
    await page.fill('#login-name', bureau.name);
    await page.fill('#login-password', 'wrong');
    await page.click('#login-submit');
    await expect.poll(() => page.textContent('#login-error')).toBe('用户名或密码不正确');
    await context.close();
  });

  it('shows the sign-in form only once it is wired: an Enter before the page script has loaded must not put the password in the URL', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A slow network: the page's script arrives a second after the HTML.
    await page.route('**/app.js', async (route) => {
      await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    });
    await page.goto(base + '/', { waitUntil: 'commit' });
    await page.fill('#login-name', bureau.name);
    await page.fill('#login-password', bureau.password);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('#app:not([hidden])');
    expect(page.url()).not.toContain('password');
    await context.close();
  });

  it('a bureau user sees only its polygons, the imagery and the outlines, opens a card with both chips and records a verdict', async () => {
    const page = await open(bureau);
    // Inbox: exactly the polygons this bureau leads or co-handles.
    await page.waitForSelector('#inbox-list button.item');
    const codes = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!));
    expect([...codes].sort()).toEqual(visible);
    expect(visible.length).toBeGreaterThan(0);
    const total = (await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygons')).rows[0].n;
    expect(visible.length).toBeLessThan(total);
    expect(await page.textContent('#counts')).toContain(`全部 ${visible.length}`);
    // What the bureau only co-handles says so (the verdict is another bureau's).
    const ledHere = new Set((await demo.db.query<{ code: string }>('SELECT code FROM polygons WHERE lead_bureau = $1', [bureau.bureau])).rows.map((r) => r.code));
    const marked = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => [b.getAttribute('data-code'), b.querySelector('.badge.co') !== null] as const));
    for (const [code, co] of marked) expect(co).toBe(!ledHere.has(code!));

    await mapIdle(page);
    // The map draws the polygons of this bureau only…
    const onMap = await page.evaluate(() => {
      const m = (window as unknown as { tuban: { map: { querySourceFeatures(s: string): { properties: { code: string } }[] } } }).tuban.map;
      return [...new Set(m.querySourceFeatures('polygons').map((f) => f.properties.code))].sort();
    });
    expect(onMap.length).toBeGreaterThan(0);
    for (const c of onMap) expect(visible).toContain(c);
    // …over the batch's imagery: most of the map is neither the empty background nor blank.
    const shot = await page.locator('#map').screenshot({ path: join(ARTIFACTS, 'page-map-after.png') });
    const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
    const colours = new Set<number>();
    let background = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if (Math.abs(data[i] - 0x1d) < 3 && Math.abs(data[i + 1] - 0x23) < 3 && Math.abs(data[i + 2] - 0x27) < 3) background++;
      colours.add((data[i] >> 3) * 1024 + (data[i + 1] >> 3) * 32 + (data[i + 2] >> 3));
    }
    expect(background / (info.width * info.height)).toBeLessThan(0.6);
    expect(colours.size).toBeGreaterThan(200); // imagery, not a flat fill
    await page.screenshot({ path: join(ARTIFACTS, 'page-inbox.png') });

    // The before imagery, switched with the keyboard.
    await page.keyboard.press('b');
    await expect.poll(() => page.getAttribute('#show-before', 'aria-checked')).toBe('true');
    await mapIdle(page);
    await page.locator('#map').screenshot({ path: join(ARTIFACTS, 'page-map-before.png') });

    // Keyboard: the list's first polygon has the focus since sign-in; J moves down the list (to the
    // first polygon this bureau leads), Enter opens the card.
    const led = new Set((await demo.db.query<{ code: string }>('SELECT code FROM polygons WHERE lead_bureau = $1', [bureau.bureau])).rows.map((r) => r.code));
    let first: string | undefined;
    for (let i = 0; i < codes.length; i++) {
      if (i > 0) await page.keyboard.press('j');
      first = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.code);
      expect(first).toBe(codes[i]);
      if (led.has(first!)) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-card:not([hidden])');
    expect(await page.textContent('#card-code')).toBe(first);
    await page.waitForSelector('#chip-before.loaded');
    await page.waitForSelector('#chip-after.loaded');
    const sizes = await page.$$eval('img.chip', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    expect(sizes).toEqual([320, 320]);
    expect(await page.textContent('#date-before')).toBe(demo.scene.beforeDate);
    expect(await page.textContent('#date-after')).toBe(demo.scene.afterDate);
    expect(page.url()).toContain(`case=${first}`);
    // 乡镇/街道 (属地) as the batch's township layer gave it (this polygon lies in one).
    const township = (await demo.db.query<{ township_name: string | null; township_code: string | null }>('SELECT township_name, township_code FROM polygons WHERE code = $1', [first])).rows[0];
    expect(township.township_name).not.toBeNull();
    expect(await page.textContent('#card-township')).toBe(`${township.township_name} (${township.township_code})`);
    // And its 村/社区 from the village layer (this polygon lies in one).
    const village = (await demo.db.query<{ village_name: string | null; village_code: string | null }>('SELECT village_name, village_code FROM polygons WHERE code = $1', [first])).rows[0];
    expect(village.village_name).not.toBeNull();
    expect(await page.textContent('#card-village')).toBe(`${village.village_name} (${village.village_code})`);
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-card.png') });
    // The open card's polygon stands out among its neighbours of the same status colour: a cyan halo.
    expect(await haloPixels(page)).toBeGreaterThan(100);

    // Sign for it, then record 违法 with a violation type.
    const owned = await page.evaluate(() => document.querySelector('#act-accept') !== null);
    if (owned) {
      await page.click('#act-accept');
      await page.waitForSelector('#verdict-form');
      await page.check('input[name=verdict][value=illegal]');
      await page.selectOption('#violation-type', 'illegal_occupation');
      // The township's patrol had found it before the imagery (巡查首次发现时间: 是否发现不及时 否).
      await page.fill('#verdict-form input[name=patrol_found_on]', '2026-09-30');
      await page.click('#verdict-submit');
      await expect.poll(() => page.textContent('#card-verdict')).toContain('违法');
      expect(await page.textContent('#card-verdict')).toContain('巡查 2026-09-30 发现');
      expect(await page.textContent('#card-status')).toBe('已判定');
      expect(await page.textContent('#history')).toContain('判定');
      await page.screenshot({ path: join(ARTIFACTS, 'page-verdict.png') });
      judged = first;
      // The ledger is the lead bureau's: a bureau's session is refused.
      const before = consoleErrors.length;
      expect(await page.evaluate(async (u) => (await fetch(u)).status, `/api/ledger/${demo.scene.epoch}.csv`)).toBe(403);
      expect(await page.evaluate(async (u) => (await fetch(u)).status, '/api/report/2026Q4.csv')).toBe(403);
      // Chromium logs the refused fetches; those errors are this check's, not the page's.
      await expect.poll(() => consoleErrors.length).toBe(before + 2);
      expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('403'), expect.stringContaining('403')]);
    }
    expect(owned).toBe(true);
    // Esc goes back to the list with the closed item focused, so J goes on from there (not from the top).
    await page.keyboard.press('Escape');
    await page.waitForSelector('#view-inbox:not([hidden])');
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement).dataset.code)).toBe(first);
    await mapIdle(page);
    expect(await haloPixels(page)).toBe(0);
    const order = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!));
    await page.keyboard.press('j');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.code)).toBe(order[order.indexOf(first!) + 1]);
    await page.context().close();
  });

  it('signing out leaves nothing of the session: the next user at the same tab starts clean; an expired session says so', async () => {
    const page = await open(bureau);
    await page.waitForSelector('#inbox-list button.item');
    await mapIdle(page);
    await page.click('#inbox-list button.item');
    await page.waitForSelector('#card-verdict');
    expect(page.url()).toContain('case=');
    const token = await page.evaluate(() => sessionStorage.getItem('tuban.token'));
    // 退出 while the map is still flying to the card: its tile requests must not outlive the session.
    await page.click('#card-back');
    await page.click('#inbox-list button.item >> nth=1');
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    await expect.poll(() => page.url()).toBe(`${base}/`);
    expect(await page.isHidden('#app')).toBe(true);
    expect((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    // The district user signs in at the same tab: no card of the bureau's, only the district's polygons.
    await page.fill('#login-name', district.name);
    await page.fill('#login-password', district.password);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('#inbox-list button.item');
    expect(await page.isHidden('#view-card')).toBe(true);
    expect(page.url()).not.toContain('case=');
    for (const c of await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!))) expect(c.startsWith(`${district.code}-`)).toBe(true);
    // A session the server no longer accepts: the sign-in form, saying why (Chromium logs the 401s).
    const before = consoleErrors.length;
    await page.evaluate(() => ((window as unknown as { tuban: { token: string } }).tuban.token = 'expired'));
    await page.selectOption('#f-priority', 'high');
    await page.waitForSelector('#login:not([hidden])');
    await expect.poll(() => page.textContent('#login-error')).toBe('登录已过期，请重新登录');
    await expect.poll(() => page.url()).toBe(`${base}/`);
    const errors = await closeAndTakeErrors(page, before);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toContain('401');
  });

  it('the lead bureau sees every polygon, the ledger links and the month summary with the verdict', async () => {
    const page = await open(lead);
    await page.waitForSelector('#inbox-list button.item');
    const all = await demo.db.query<{ n: number; m2: number }>('SELECT count(*)::int AS n, sum(area_m2)::float8 AS m2 FROM polygons');
    expect(await page.$$eval('#inbox-list button.item', (b) => b.length)).toBe(all.rows[0].n);
    // Sorted by confidence: the server's order, most confident first, each item saying how confident.
    const byConfidence = await demo.db.query<{ code: string; confidence: number }>('SELECT code, confidence FROM polygons ORDER BY confidence DESC, code');
    await page.selectOption('#f-sort', 'confidence');
    await page.waitForSelector('#inbox-list .confidence');
    expect(await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => b.getAttribute('data-code')))).toEqual(byConfidence.rows.map((r) => r.code));
    expect(await page.textContent('#inbox-list button.item .confidence')).toBe(`置信度 ${(byConfidence.rows[0].confidence * 100).toFixed(0)}%`);
    // Back to the default deadline order: the server's (sort=due), over every page, not only the loaded one.
    const byDue = page.waitForRequest((r) => r.url().includes('/api/polygons?') && r.url().includes('sort=due'));
    await page.selectOption('#f-sort', 'due');
    await byDue;
    await page.waitForSelector('#inbox-list .confidence', { state: 'detached' });
    // A list that cannot be loaded says so (it kept the old items under the new filter, silently).
    const beforeFail = consoleErrors.length;
    await page.route(/\/api\/polygons\?.*priority=high/, (route) => route.abort());
    await page.selectOption('#f-priority', 'high');
    await expect.poll(() => page.textContent('#toast')).toContain('未能加载最新数据');
    await page.unroute(/\/api\/polygons\?.*priority=high/);
    await page.selectOption('#f-priority', '');
    await expect.poll(() => page.$$eval('#inbox-list button.item', (bs) => bs.length)).toBe(all.rows[0].n);
    for (const e of await settledErrors(beforeFail)) expect(e).toMatch(/ERR_FAILED|Failed to fetch/);
    // The map shows what the inbox lists: its filters apply to the polygon layers too, and go with them.
    const mapFilter = () => page.evaluate(() => JSON.stringify((window as unknown as { tuban: { map: { getFilter(id: string): unknown } } }).tuban.map.getFilter('poly-fill') ?? null));
    await page.selectOption('#f-status', 'issued');
    await expect.poll(mapFilter).toContain('"issued"');
    await page.selectOption('#f-status', '');
    await expect.poll(mapFilter).toBe('null');
    // 主办: one bureau's polygons (the server's filter), each item naming its lead bureau.
    const water = await demo.db.query<{ code: string }>(`SELECT code FROM polygons WHERE lead_bureau = 'water' ORDER BY code`);
    expect(water.rows.length).toBeGreaterThan(0);
    await page.selectOption('#f-lead', 'water');
    await expect.poll(() => page.$$eval('#inbox-list button.item', (bs) => bs.length)).toBe(water.rows.length);
    expect((await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => b.getAttribute('data-code')))).sort()).toEqual(water.rows.map((r) => r.code));
    expect(new Set(await page.$$eval('#inbox-list .lead-bureau', (ss) => ss.map((x) => x.textContent)))).toEqual(new Set(['城乡水务局']));
    // 导出外业核查 KML: the same filter, fetched as the link is (the session cookie), one placemark per listed polygon.
    const kml = await page.$eval('#field-kml', async (a) => (await fetch((a as HTMLAnchorElement).href)).text());
    expect([...kml.matchAll(/<Placemark><name>([^<]*)</g)].map((m) => m[1]).sort()).toEqual(water.rows.map((r) => r.code));
    // Clicked, it is saved under the server's name; a refusal is said on the page, not saved as the file.
    const [saved] = await Promise.all([page.waitForEvent('download'), page.click('#field-kml')]);
    expect(saved.suggestedFilename()).toBe(`tuban-${demo.scene.epoch}-all.kml`);
    const refusedBefore = consoleErrors.length;
    await page.route(/\/api\/polygons\.kml/, (route) => route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ code: 'EXPORT.TOO_LARGE', message: 'too many' }) }));
    await page.click('#field-kml');
    await expect.poll(() => page.textContent('#toast')).toContain('超过 20000 个');
    await page.unroute(/\/api\/polygons\.kml/);
    await expect.poll(() => consoleErrors.length).toBe(refusedBefore + 1);
    expect(consoleErrors.splice(refusedBefore)).toEqual([expect.stringContaining('400')]);
    await page.selectOption('#f-lead', '');
    await expect.poll(() => page.$$eval('#inbox-list button.item', (bs) => bs.length)).toBe(all.rows[0].n);
    await page.click('#tab-ledger');
    await page.waitForSelector('#summary-table');
    const links = await page.$$eval('#ledger-links a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toContain(`/api/ledger/${demo.scene.epoch}.xlsx`);
    const totals = await page.$$eval('#summary-table tfoot td', (tds) => tds.map((t) => t.textContent));
    expect(totals[0]).toBe(String(all.rows[0].n));
    expect(totals[1]).toBe((all.rows[0].m2 / (10000 / 15)).toFixed(2)); // the month's m² in 亩, as `tuban report` converts it
    expect(totals[3]).toBe('1'); // 违法: the verdict the bureau just recorded
    // By lead bureau: one row per bureau leading polygons this month, the same total; its status
    // columns are the cases in each status (已下发, 核查中, 已判定: the judged one, …), adding up to it.
    const leads = await demo.db.query<{ n: number }>(`SELECT count(DISTINCT lead_bureau)::int AS n FROM cases WHERE epoch = $1`, [demo.scene.epoch]);
    expect(await page.$$eval('#summary-bureau-table tbody tr', (trs) => trs.length)).toBe(leads.rows[0].n);
    const byBureau = (await page.$$eval('#summary-bureau-table tfoot td', (tds) => tds.map((t) => t.textContent))).map(Number);
    const inStatus = async (status: string) => (await demo.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE epoch = $1 AND status = $2`, [demo.scene.epoch, status])).rows[0].n;
    expect(byBureau.slice(0, 4)).toEqual([all.rows[0].n, await inStatus('issued'), await inStatus('accepted'), await inStatus('verified')]);
    expect(byBureau[3]).toBe(1);
    expect(byBureau.slice(1, 9).reduce((a, b) => a + b, 0)).toBe(all.rows[0].n);
    // The ledger link the page offers is the real export: the judged polygon's row carries the verdict, the others are 未核查.
    const csvHref = links.find((h) => h!.endsWith('.csv'))!;
    const csv = await page.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, csvHref);
    expect([csv.status, csv.type]).toEqual([200, 'text/csv; charset=utf-8']);
    const rows = csvRows(csv.text);
    expect(rows.length).toBe(all.rows[0].n);
    expect(judged).toBeDefined();
    const row = rows.find((r) => r['图斑编号'] === judged)!;
    expect([row['判定类型'], row['违法类型']]).toEqual(['违法', '非法占用土地']);
    expect(rows.filter((r) => r['判定类型'] === '未核查').length).toBe(all.rows[0].n - 1);
    // The month's quarter report, as `tuban report` writes it: 违法 1 in the month's districts.
    const [y, m] = demo.scene.epoch.split('-').map(Number);
    const quarter = `${y}Q${Math.ceil(m / 3)}`;
    expect(await page.textContent('#report-heading')).toContain(quarter);
    const reportHrefs = await page.$$eval('#report-links a', (as) => as.map((a) => a.getAttribute('href')));
    expect(reportHrefs).toEqual([`/api/report/${quarter}.xlsx`, `/api/report/${quarter}.csv`]);
    const report = await page.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, reportHrefs[1]!);
    expect([report.status, report.type]).toEqual([200, 'text/csv; charset=utf-8']);
    expect(report.text).toContain('违法');
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-lead-ledger.png') });
    await page.context().close();
  });

  /** Click the map at a lon/lat (the point MapLibre projects it to). */
  async function clickMap(page: Page, lngLat: [number, number]): Promise<void> {
    const px = await page.evaluate((ll) => {
      const p = (window as unknown as { tuban: { map: { project(l: [number, number]): { x: number; y: number } } } }).tuban.map.project(ll);
      return { x: p.x, y: p.y };
    }, lngLat);
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + px.x, box.y + px.y);
    await page.waitForTimeout(120); // two clicks in a row are two vertices, not a double click
  }

  /** Centre the map on a lon/lat at a zoom (what a user does before drawing) and wait for it to settle. */
  async function zoomTo(page: Page, lngLat: [number, number], zoom: number): Promise<void> {
    await page.evaluate(([c, z]) => (window as unknown as { tuban: { map: { jumpTo(o: object): void } } }).tuban.map.jumpTo({ center: c, zoom: z }), [lngLat, zoom] as const);
    await mapIdle(page);
  }

  /** The cells of a table (but those marked .left, free text) whose text runs over more than one line. */
  function wrappedCells(page: Page, table: string): Promise<string[]> {
    return page.$$eval(`${table} th:not(.left), ${table} td:not(.left)`, (cells) =>
      cells.filter((c) => {
        const r = document.createRange();
        r.selectNodeContents(c);
        return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1;
      }).map((c) => c.textContent ?? ''),
    );
  }

  async function openFromInbox(page: Page, code: string): Promise<void> {
    if (await page.isVisible('#card-back')) await page.click('#card-back');
    await page.click('#tab-inbox');
    await page.click(`#inbox-list button.item[data-code="${code}"]`);
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await page.waitForSelector('#card-body .facts');
  }

  async function statusOf(code: string): Promise<string> {
    return (await demo.db.query<{ status: string }>('SELECT status FROM cases WHERE code = $1', [code])).rows[0].status;
  }

  /** A decodable JPEG (sharp) carrying the EXIF block of `jpegWithExif` right after its SOI marker. */
  async function photo(exif: { taken: string; lat: number; lon: number; azimuth: number }): Promise<Buffer> {
    const jpg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 120, g: 160, b: 90 } } }).jpeg().toBuffer();
    const app1 = jpegWithExif(exif).subarray(2, -2); // without its own SOI and EOI
    return Buffer.concat([jpg.subarray(0, 2), app1, jpg.subarray(2)]);
  }

  it('the bureau uploads a field photo (EXIF time, position, azimuth on the card and the map) and a document, reports rectification and closes', async () => {
    expect(judged).toBeDefined();
    const page = await open(bureau);
    await page.waitForSelector('#inbox-list button.item');
    await openFromInbox(page, judged!);
    const c = (await demo.db.query<{ x: number; y: number }>('SELECT ST_X(centroid) AS x, ST_Y(centroid) AS y FROM polygons WHERE code = $1', [judged])).rows[0];
    const at = { lat: Number((c.y + 0.0002).toFixed(7)), lon: Number(c.x.toFixed(7)) }; // ~22 m north of the centre
    const jpg = await photo({ taken: '2026:10:21 09:15:30', ...at, azimuth: 187.5 });
    await page.setInputFiles('#evidence-file', [
      { name: '现场照片 东侧.jpg', mimeType: 'image/jpeg', buffer: jpg },
      { name: '询问笔录.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n') },
    ]);
    await page.fill('#evidence-note', '现场核查');
    await page.click('#evidence-submit');
    await page.waitForSelector('#evidence-list .evidence-item:nth-child(2)');
    const item = page.locator('#evidence-list .evidence-item').first();
    expect(await item.locator('.file-name').textContent()).toBe('现场照片 东侧.jpg');
    expect(await item.locator('.exif-time').textContent()).toBe('拍摄 2026-10-21 09:15:30');
    const pos = (await item.locator('.exif-pos').textContent())!;
    expect(pos).toContain(`${at.lat.toFixed(6)}°N, ${at.lon.toFixed(6)}°E`);
    const metres = Number(/距图斑中心 (\d+) m/.exec(pos)![1]);
    expect(metres).toBeGreaterThan(18);
    expect(metres).toBeLessThan(26);
    expect(await item.locator('.exif-az').textContent()).toBe('方位角 187.5°');
    // The thumbnail is the stored photo itself, fetched with the session cookie.
    await expect.poll(() => item.locator('img.thumb').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(64);
    expect(await page.textContent('#evidence-list')).toContain('询问笔录.pdf');
    // The photo's position and viewing direction are on the map.
    const onMap = await page.evaluate(() => {
      const m = (window as unknown as { tuban: { map: { getSource(s: string): { serialize(): { data: { features: { geometry: { type: string; coordinates: number[] } }[] } } } } } }).tuban.map;
      return m.getSource('photos').serialize().data.features.map((f) => f.geometry);
    });
    expect(onMap.map((g) => g.type).sort()).toEqual(['LineString', 'Point']);
    expect(onMap.find((g) => g.type === 'Point')!.coordinates).toEqual([at.lon, at.lat]);
    const stored = await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE code = $1', [judged]);
    expect(stored.rows[0].n).toBe(2);
    await page.locator('#evidence-box').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'page-evidence.png') });

    // A file that is neither a JPEG nor a PDF is refused with a message, and nothing is stored.
    const before = consoleErrors.length;
    await page.setInputFiles('#evidence-file', [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') }]);
    await page.click('#evidence-submit');
    await expect.poll(() => page.textContent('#toast')).toContain('只接受 JPEG 照片或 PDF 文件');
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE code = $1', [judged])).rows[0].n).toBe(2);
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('415')]);
    // Chosen together with a document: the document is stored, and the message left on screen once
    // the card has re-rendered still names the refused file, not only what went through.
    await page.setInputFiles('#evidence-file', [
      { name: '说明材料.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') },
      { name: '用地批复.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n') },
    ]);
    await page.click('#evidence-submit');
    await page.waitForSelector('#evidence-list .evidence-item:nth-child(3)');
    await expect.poll(() => page.getAttribute('#evidence-submit', 'disabled')).toBeNull();
    const told = (await page.textContent('#toast'))!;
    expect(told).toContain('已上传 1 个');
    expect(told).toContain('说明材料.txt');
    expect(told).toContain('只接受 JPEG 照片或 PDF 文件');
    expect(await page.getAttribute('#toast', 'class')).toContain('error');
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE code = $1', [judged])).rows[0].n).toBe(3);
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('415')]);

    // A note saved while the lists cannot be refreshed (the network drops the counts): the page says
    // it was saved and that the page is stale, not 操作失败 (which invites saving it twice).
    await page.route('**/api/inbox/counts*', (route) => route.abort());
    // The card drawn again slowly (a loaded server): the page says how the save went once the card is
    // drawn, so what the user does next (choosing a file) is not emptied by the redraw a moment later.
    const slowCard = new RegExp(`/api/polygons/${judged}$`);
    let cardsDrawn = 0;
    await page.route(slowCard, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
      cardsDrawn++;
    });
    await page.click('#more-notes summary');
    await page.fill('#more-notes textarea[name=text]', '已约谈当事人，限期自行拆除');
    await page.click('#submit-notes');
    await expect.poll(() => page.textContent('#toast'), { timeout: 10_000 }).toContain('请重新加载页面');
    expect(await page.textContent('#toast')).toContain('备注已提交');
    expect(cardsDrawn).toBe(1);
    const notes = await demo.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE code = $1 AND action = 'note'`, [judged]);
    expect(notes.rows[0].n).toBe(1);
    // So is a file uploaded meanwhile: stored, and said so (not 未能加载最新数据, which invites a second upload).
    await page.setInputFiles('#evidence-file', [{ name: '整改通知书.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n') }]);
    await page.click('#evidence-submit');
    await expect.poll(() => page.textContent('#toast'), { timeout: 10_000 }).toContain('已上传 1 个文件');
    expect(await page.textContent('#toast')).toContain('请重新加载页面');
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE code = $1', [judged])).rows[0].n).toBe(4);
    await page.unroute('**/api/inbox/counts*');
    await page.unroute(slowCard);
    for (const e of await settledErrors(before)) expect(e).toMatch(/ERR_FAILED|Failed to fetch/);

    // Rectification to 100 %, no case filed (不予立案, with its reason), then close (销号).
    await page.selectOption('#more-rectification select[name=method]', 'demolish_restore');
    await page.fill('#more-rectification input[name=progress]', '100');
    expect(await page.isVisible('#more-rectification input[name=not_filed_reason]')).toBe(false);
    // A filed case's 立案日期, 罚没金额 and 强制执行 show with 已立案 only, and are not sent with 不予立案
    // (the server refuses them there: the unticked 强制执行 box alone would have been sent as false).
    expect(await page.isVisible('#more-rectification input[name=case_filed_on]')).toBe(false);
    await page.check('#more-rectification input[name=case_filed][value=true]');
    expect(await page.isVisible('#more-rectification input[name=case_filed_on]')).toBe(true);
    await page.fill('#more-rectification input[name=case_filed_on]', '2026-11-01');
    await page.fill('#more-rectification input[name=fine_amount_yuan]', '5000');
    await page.check('#more-rectification input[name=case_filed][value=false]');
    expect(await page.isVisible('#more-rectification input[name=fine_amount_yuan]')).toBe(false);
    expect(await page.$eval('#more-rectification input[name=not_filed_reason]', (i) => (i as HTMLInputElement).required)).toBe(true);
    await page.fill('#more-rectification input[name=not_filed_reason]', '违法事实不成立');
    // 拆除复耕面积 (m²) goes with any violation, filed or not.
    await page.fill('#more-rectification input[name=restored_area_m2]', '120.5');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-status')).toBe('整改中');
    expect(await page.textContent('#card-rectification')).toContain('完成 100%');
    expect(await page.textContent('#card-rectification')).toContain('不予立案（违法事实不成立）');
    expect(await page.textContent('#card-rectification')).toContain('拆除复耕 121 m²');
    const filing = await demo.db.query<{ r: Record<string, unknown> }>('SELECT rectification AS r FROM cases WHERE code = $1', [judged]);
    expect([filing.rows[0].r.case_filed, filing.rows[0].r.not_filed_reason, filing.rows[0].r.restored_area_m2]).toEqual([false, '违法事实不成立', 120.5]);
    expect(['case_filed_on', 'fine_amount_yuan', 'court_enforcement'].filter((k) => k in filing.rows[0].r)).toEqual([]);
    await page.click('#more-close summary');
    await page.fill('#more-close textarea[name=reason]', '已拆除复耕');
    await page.click('#submit-close');
    await expect.poll(() => page.textContent('#card-status')).toBe('已销号待审核');
    expect(await statusOf(judged!)).toBe('closed');
    await page.context().close();
  });

  /** The polygon the bureau splits into parcels, which the lead bureau then escalates. */
  let splitCode: string | undefined;
  /** The polygon the bureau asks to have reassigned. */
  let requested: string | undefined;

  it('the bureau splits a polygon on the map into parcels and gives them different verdicts', async () => {
    const r = await demo.db.query<{ code: string; x0: number; x1: number; y0: number; y1: number; cx: number; cy: number; m2: number }>(
      `SELECT code, ST_XMin(geom) AS x0, ST_XMax(geom) AS x1, ST_YMin(geom) AS y0, ST_YMax(geom) AS y1,
              ST_X(ST_PointOnSurface(geom)) AS cx, ST_Y(ST_PointOnSurface(geom)) AS cy, ST_Area(geom::geography) AS m2
       FROM polygons WHERE lead_bureau = $1 AND code <> $2 ORDER BY area_m2 DESC LIMIT 1`,
      [bureau.bureau, judged],
    );
    const poly = r.rows[0];
    splitCode = poly.code;
    const page = await open(bureau);
    await page.waitForSelector('#inbox-list button.item');
    await openFromInbox(page, poly.code);
    await page.click('#act-accept');
    await expect.poll(() => page.textContent('#card-status')).toBe('核查中');
    await page.click('#split-box summary');
    await zoomTo(page, [poly.cx, poly.cy], 18);
    // A cut line across the polygon through a point inside it, drawn past both edges.
    const dy = (poly.y1 - poly.y0) * 0.3;
    await page.click('#split-line');
    await expect.poll(() => page.isVisible('#draw-bar')).toBe(true);
    await clickMap(page, [poly.cx, poly.y0 - dy]);
    await clickMap(page, [poly.cx, poly.y1 + dy]);
    await page.click('#draw-done');
    await page.waitForSelector('#split-table');
    const preview = await page.$$eval('#split-table tbody tr', (trs) => trs.length);
    expect(preview).toBeGreaterThanOrEqual(2);
    await page.locator('#split-box').scrollIntoViewIfNeeded();
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-split-preview.png') });
    await page.click('#split-submit');
    await page.waitForSelector('#parcel-table');
    const parcels = await demo.db.query<{ idx: number; area_m2: number }>('SELECT idx, area_m2 FROM parcels WHERE code = $1 ORDER BY idx', [poly.code]);
    expect(parcels.rows.length).toBe(preview);
    expect(Math.abs(parcels.rows.reduce((s, p) => s + p.area_m2, 0) - poly.m2)).toBeLessThan(1);
    // The card lists them with m² and 亩.
    const firstRow = await page.$$eval('#parcel-table tbody tr:first-child td', (tds) => tds.map((t) => t.textContent));
    expect(firstRow[1]).toBe(`${(parcels.rows[0].area_m2 / (10000 / 15)).toFixed(2)} 亩`);

    // Parcel 1 illegal, every other parcel legal.
    await page.selectOption('#verdict-parcel', '1');
    await page.check('input[name=verdict][value=illegal]');
    await page.selectOption('#violation-type', 'illegal_occupation');
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#parcel-table tbody tr:first-child')).toContain('违法');
    for (const p of parcels.rows.slice(1)) {
      await page.selectOption('#verdict-parcel', String(p.idx));
      await page.check('input[name=verdict][value=legal]');
      await page.fill('#approval-doc', `济政土批〔2026〕${p.idx}号`);
      await page.click('#verdict-submit');
      await expect.poll(() => page.textContent(`#parcel-table tbody tr:nth-child(${p.idx})`)).toContain('合法');
    }
    await expect.poll(() => page.textContent('#card-status')).toBe('已判定');
    expect(await page.textContent('#card-verdict')).toBe('违法（按地块判定）');
    const stored = await demo.db.query<{ verdict: string }>('SELECT verdict FROM parcels WHERE code = $1 ORDER BY idx', [poly.code]);
    expect(stored.rows.map((x) => x.verdict)).toEqual(['illegal', ...parcels.rows.slice(1).map(() => 'legal')]);
    await page.locator('#parcels-box').scrollIntoViewIfNeeded();
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-split.png') });

    // Another of its polygons belongs elsewhere: ask the lead bureau to reassign it, suggesting the water bureau.
    const other = await demo.db.query<{ code: string }>('SELECT code FROM polygons WHERE lead_bureau = $1 AND code NOT IN ($2, $3) ORDER BY code LIMIT 1', [bureau.bureau, judged, poly.code]);
    requested = other.rows[0].code;
    await openFromInbox(page, requested);
    await page.click('#more-request-reassignment summary');
    await page.fill('#more-request-reassignment textarea[name=reason]', '位于河道管理范围');
    await page.selectOption('#more-request-reassignment select[name=suggested_bureau]', 'water');
    await page.click('#submit-request-reassignment');
    await expect.poll(() => page.textContent('#card-status')).toBe('申请改派');
    expect(await statusOf(requested)).toBe('reassignment_requested');
    await page.context().close();
  });

  let clueCode: string | undefined;

  it('a district user adds a clue by clicking the map; it enters the inbox and the workflow', async () => {
    const page = await open(district);
    await page.waitForSelector('#inbox-list button.item');
    // A district user sees its own district only.
    const codes = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!));
    expect(codes.length).toBeGreaterThan(0);
    for (const c of codes) expect(c.startsWith(`${district.code}-`)).toBe(true);
    await mapIdle(page);
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'patrol');
    expect(await page.$$eval('#clue-district option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([district.code]);
    const c = (await demo.db.query<{ x: number; y: number }>('SELECT avg(ST_X(centroid)) AS x, avg(ST_Y(centroid)) AS y FROM polygons WHERE district_code = $1', [district.code])).rows[0];
    await zoomTo(page, [c.x, c.y], 16);
    await page.click('#clue-point');
    await clickMap(page, [c.x, c.y]);
    await expect.poll(() => page.textContent('#clue-where')).toContain('°N');
    await page.fill('#clue-description', '巡查发现村东新建彩钢棚');
    // A clue lands in the month it was found, last month at the earliest: the server's day is the
    // 3rd of the month after the demo's, so both clues below go into the demo month's ledger.
    clock = new Date('2026-11-03T02:00:00Z');
    await page.fill('#clue-date', '2026-10-20');
    await page.screenshot({ path: join(ARTIFACTS, 'page-clue-form.png') });
    // A double click registers one clue (it registered two, each a case issued to a bureau).
    const posted: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/clues')) posted.push(r.url());
    };
    page.on('request', onRequest);
    await page.dblclick('#clue-submit');
    await page.waitForSelector('#view-card:not([hidden])');
    await expect.poll(() => page.textContent('#card-code')).toMatch(new RegExp(`^${district.code}-202610-X\\d{4}$`));
    clueCode = (await page.textContent('#card-code'))!;
    page.off('request', onRequest);
    expect(posted.length).toBe(1);
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues WHERE description = $1', ['巡查发现村东新建彩钢棚'])).rows[0].n).toBe(1);
    // The card's code is drawn before its body is fetched (card.js: 加载中… until the answer is in).
    await expect.poll(() => page.textContent('#card-body')).toContain('巡查发现');
    const row = await demo.db.query<{ x: number; y: number; source: string }>('SELECT ST_X(geom) AS x, ST_Y(geom) AS y, source FROM clues WHERE code = $1', [clueCode]);
    expect(row.rows[0].source).toBe('patrol');
    expect(Math.abs(row.rows[0].x - c.x)).toBeLessThan(1e-4); // within a pixel of where the map was clicked
    expect(Math.abs(row.rows[0].y - c.y)).toBeLessThan(1e-4);
    expect(await statusOf(clueCode)).toBe('issued');
    // Its card gives the routing in words, not the ids (线索: patrol clue).
    await expect.poll(() => page.textContent('#card-body')).toContain('线索（巡查发现）');
    expect(await page.textContent('#card-body')).not.toContain('patrol');
    // A second clue as an outline: three corners clicked on the map.
    await page.click('#card-back');
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'hotline');
    await page.click('#clue-polygon');
    const ring: [number, number][] = [[c.x - 0.0004, c.y - 0.0003], [c.x + 0.0004, c.y - 0.0003], [c.x, c.y + 0.0004]];
    for (const v of ring) await clickMap(page, v);
    await page.click('#draw-done');
    await expect.poll(() => page.textContent('#clue-where')).toContain('范围 3 个顶点');
    await page.fill('#clue-description', '群众来电反映夜间堆土');
    await page.fill('#clue-date', '2026-10-22');
    await page.click('#clue-submit');
    await expect.poll(() => page.textContent('#card-code')).not.toBe(clueCode);
    const second = (await page.textContent('#card-code'))!;
    const area = await demo.db.query<{ m2: number; t: string; n: number }>('SELECT area_m2 AS m2, GeometryType(geom) AS t, ST_NPoints(geom) AS n FROM clues WHERE code = $1', [second]);
    expect([area.rows[0].t, area.rows[0].n]).toEqual(['POLYGON', 4]);
    // The triangle clicked: base 0.0008° of longitude, height 0.0007° of latitude.
    const expected = 0.5 * (0.0008 * 111_320 * Math.cos((c.y * Math.PI) / 180)) * (0.0007 * 110_950);
    expect(Math.abs(area.rows[0].m2 / expected - 1)).toBeLessThan(0.05);
    clock = null;
    // Both are in the month's inbox now.
    await page.click('#card-back');
    await page.click('#tab-inbox');
    await page.waitForSelector(`#inbox-list button.item[data-code="${clueCode}"]`);
    await page.waitForSelector(`#inbox-list button.item[data-code="${second}"]`);
    await page.screenshot({ path: join(ARTIFACTS, 'page-clue.png') });
    // A clue found last month, in a month no batch has imagery for: the page offers that month, shows
    // it, and the clue is in its inbox (it was filed, then nowhere to be found on the page).
    clock = new Date('2026-12-02T02:00:00Z');
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'public_report');
    await page.click('#clue-point');
    await clickMap(page, [c.x + 0.0003, c.y]);
    await expect.poll(() => page.textContent('#clue-where')).toContain('°N');
    await page.fill('#clue-description', '群众举报：十一月下旬村西侧夜间倾倒建筑垃圾，已形成约两百平方米的堆土');
    await page.fill('#clue-date', '2026-11-20');
    await page.click('#clue-submit');
    await expect.poll(() => page.textContent('#card-code')).toMatch(new RegExp(`^${district.code}-202611-X\\d{4}$`));
    const november = (await page.textContent('#card-code'))!;
    clock = null;
    expect(await page.inputValue('#epoch')).toBe('2026-11');
    expect(await page.textContent('#epoch option[value="2026-11"]')).toBe('2026-11（无影像）');
    await page.click('#card-back');
    await page.click('#tab-inbox');
    await page.waitForSelector(`#inbox-list button.item[data-code="${november}"]`);
    // A fresh page (the next morning) still offers the month.
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    await expect.poll(() => page.$$eval('#epoch option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toContain('2026-11');
    // A point in another district is refused (it widened the district's imagery to that district's),
    // and the form says so in Chinese, naming the district the point lies in.
    const o = (
      await demo.db.query<{ x: number; y: number; name: string }>(
        'SELECT ST_X(p) AS x, ST_Y(p) AS y, name FROM (SELECT ST_PointOnSurface(geom) AS p, name FROM districts WHERE code <> $1 ORDER BY code LIMIT 1) s',
        [district.code],
      )
    ).rows[0];
    const clues = (await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n;
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'patrol');
    await zoomTo(page, [o.x, o.y], 14);
    await page.click('#clue-point');
    await clickMap(page, [o.x, o.y]);
    await expect.poll(() => page.textContent('#clue-where')).toContain('°N');
    await page.fill('#clue-description', '巡查发现');
    const refusedBefore = consoleErrors.length;
    await page.click('#clue-submit');
    await expect.poll(() => page.textContent('#toast')).toContain('线索位置不在所选区县内');
    // The refusal's 400 is the browser's own console line, expected here (the last test counts the rest).
    await expect.poll(() => consoleErrors.length).toBe(refusedBefore + 1);
    expect(consoleErrors.splice(refusedBefore)).toEqual([expect.stringContaining('400')]);
    expect(await page.textContent('#toast')).toContain(`位于${o.name}（`);
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n).toBe(clues);
    await page.context().close();
  });

  it('the lead bureau reviews the closure, escalates, reassigns, sees the overdue list and the new rows in the ledger', async () => {
    expect(splitCode).toBeDefined();
    expect(clueCode).toBeDefined();
    expect(requested).toBeDefined();
    const page = await open(lead);
    await page.waitForSelector('#inbox-list button.item');
    // Review: approve the bureau's closure.
    await openFromInbox(page, judged!);
    await page.check('#more-review input[name=approve][value=true]');
    await page.fill('#more-review textarea[name=comment]', '照片与台账一致');
    await page.click('#submit-review');
    await expect.poll(() => page.textContent('#card-status')).toBe('审核通过');
    expect(await statusOf(judged!)).toBe('reviewed');
    expect(await page.textContent('#history')).toContain('复核');
    // Escalate the split polygon: hand-over to the discipline commission.
    await openFromInbox(page, splitCode!);
    await page.click('#more-escalate summary');
    await page.fill('#more-escalate textarea[name=reason]', '拒不整改，移交纪委监委');
    await page.click('#submit-escalate');
    await page.waitForSelector('#escalations');
    expect(await page.textContent('#escalations')).toContain('人工移交');
    expect(await page.textContent('#card-escalation')).toBe('1 级');
    const esc = await demo.db.query<{ kind: string; level: number }>('SELECT kind, level FROM escalations WHERE code = $1', [splitCode]);
    expect(esc.rows).toEqual([{ kind: 'manual', level: 1 }]);
    await page.locator('#escalations').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'page-lead-escalate.png') });
    // Its short columns (类型, 级别, 依据, 期限) are one line each; the reason takes what is left (they broke after each character: 类/型, 逾/期).
    expect(await wrappedCells(page, '#escalations')).toEqual([]);
    // The bureau's reassignment request: its reason is shown and its suggestion preselected.
    await openFromInbox(page, requested!);
    expect(await page.textContent('#more-reassign')).toContain('申请理由：位于河道管理范围');
    expect(await page.inputValue('#more-reassign select[name=lead_bureau]')).toBe('water');
    await page.fill('#more-reassign textarea[name=reason]', '同意，改由水务局主办');
    await page.click('#submit-reassign');
    await expect.poll(() => page.textContent('#card-lead-bureau')).toBe(DEFAULT_RULES.bureaus.water.name_zh);
    expect(await page.textContent('#card-status')).toBe('已下发');
    expect((await demo.db.query<{ b: string; s: string }>('SELECT lead_bureau AS b, status AS s FROM cases WHERE code = $1', [requested])).rows[0]).toEqual({ b: 'water', s: 'issued' });
    // And the clue, to the forestry bureau.
    await openFromInbox(page, clueCode!);
    await page.click('#more-reassign summary');
    await page.selectOption('#more-reassign select[name=lead_bureau]', 'forestry');
    await page.fill('#more-reassign textarea[name=reason]', '位于林地');
    await page.click('#submit-reassign');
    await expect.poll(() => page.textContent('#card-lead-bureau')).toBe(DEFAULT_RULES.bureaus.forestry.name_zh);
    expect((await demo.db.query<{ b: string }>('SELECT lead_bureau AS b FROM cases WHERE code = $1', [clueCode])).rows[0].b).toBe('forestry');
    // The overdue list holds what the API counts as overdue (of every month, as the tab lists them).
    await page.click('#card-back');
    await page.click('#tab-overdue');
    const counted = await page.evaluate(async () => (await (await fetch('/api/inbox/counts')).json()).overdue ?? 0);
    expect(await page.$$eval('#overdue-list button.item', (b) => b.length)).toBe(counted);
    expect(await page.isVisible('#overdue-empty')).toBe(counted === 0);
    // The ledger: the split polygon is 违法, the clue is a row of its own.
    await page.click('#tab-ledger');
    await page.waitForSelector('#summary-table');
    const csv = await page.evaluate(async (e) => (await fetch(`/api/ledger/${e}.csv`)).text(), demo.scene.epoch);
    const rows = csvRows(csv);
    expect(rows.find((x) => x['图斑编号'] === splitCode)!['判定类型']).toBe('违法');
    expect(rows.some((x) => x['图斑编号'] === clueCode)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'page-lead-summary.png') });
    await page.context().close();
  });

  it('a filed case (立案) is closed only once its penalty is carried out, and the page says so; the lead bureau records a 移送 once, dated today or before', async () => {
    expect(splitCode).toBeDefined();
    const pick = await demo.db.query<{ code: string }>(
      `SELECT code FROM cases WHERE lead_bureau = $1 AND status = 'issued' AND code NOT IN ($2, $3, $4) ORDER BY code LIMIT 1`,
      [bureau.bureau, judged, splitCode, requested],
    );
    const code = pick.rows[0].code;
    // Judged on 20 December: its 15 working days of rectification end in 2027, a year with no holiday calendar, and the card says so.
    clock = new Date('2026-12-20T02:00:00Z');
    const page = await open(bureau);
    await page.waitForSelector('#inbox-list button.item');
    await openFromInbox(page, code);
    await page.click('#act-accept');
    await page.waitForSelector('#verdict-form');
    await page.check('input[name=verdict][value=illegal]');
    await page.selectOption('#violation-type', 'illegal_occupation');
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#card-status')).toBe('已判定');
    expect(await page.textContent('#card-calendar-gap')).toContain('未载入 2027 年节假日安排');
    // The inbox marks the same due date (the list's JSON has no note: the page asks /api/deadlines which years are covered).
    await expect
      .poll(() => page.$eval(`#inbox-list button.item[data-code="${code}"]`, (b) => b.querySelector('.calendar-gap-mark')?.getAttribute('title') ?? null))
      .toContain('未载入 2027 年节假日安排');
    expect(await page.$$eval('#inbox-list .calendar-gap-mark', (ms) => ms.length)).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'page-calendar-gap.png') });
    // Rectified in full, the case not filed: the close form does not ask for the penalty.
    await page.selectOption('#more-rectification select[name=method]', 'demolish_restore');
    await page.fill('#more-rectification input[name=progress]', '100');
    await page.click('#submit-rectification');
    await expect.poll(() => page.textContent('#card-status')).toBe('整改中');
    await page.click('#more-close summary');
    expect(await page.$eval('#more-close input[name=penalty_done]', (i) => (i as HTMLInputElement).required)).toBe(false);
    await page.fill('#more-close textarea[name=reason]', '已拆除复耕');
    // Meanwhile a colleague records that the case is filed (立案); this card does not know it.
    const filed = await page.evaluate(
      async (c) => (await fetch(`/api/polygons/${c}/rectification`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ method: 'demolish_restore', progress: 100, case_filed: true }) })).status,
      code,
    );
    expect(filed).toBe(200);
    // The server refuses the closure from a card loaded before that (409 CASE.STALE): the page says
    // who changed the case, shows it as it now is (filed: the penalty must be carried out) and keeps what was typed.
    const before = consoleErrors.length;
    await page.click('#submit-close');
    await expect.poll(() => page.getAttribute('#toast', 'class')).toContain('error');
    const told = (await page.textContent('#toast'))!;
    expect(told).toContain(`已被${bureau.name}（整改进度）更新，您的提交未保存`);
    expect(await statusOf(code)).toBe('rectifying');
    await expect.poll(() => page.textContent('#more-close')).toContain('本案已立案');
    await expect.poll(() => page.inputValue('#more-close textarea[name=reason]')).toBe('已拆除复耕');
    await page.screenshot({ path: join(ARTIFACTS, 'page-close-refused.png') });
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('409')]);
    // Opened afresh, the form says so before anything is sent, and sends nothing without the tick.
    await openFromInbox(page, code);
    await page.click('#more-close summary');
    expect(await page.textContent('#close-penalty-note')).toContain('已立案');
    await page.fill('#more-close textarea[name=reason]', '已拆除复耕，罚款已缴纳');
    await page.click('#submit-close');
    expect(await page.$eval('#more-close input[name=penalty_done]', (i) => (i as HTMLInputElement).validity.valueMissing)).toBe(true);
    expect(await statusOf(code)).toBe('rectifying');
    await page.check('#more-close input[name=penalty_done]');
    await page.click('#submit-close');
    await expect.poll(() => page.textContent('#card-status')).toBe('已销号待审核');
    await page.context().close();
    clock = null;

    // The lead bureau records the handover to the discipline commission.
    const lp = await open(lead);
    await lp.waitForSelector('#inbox-list button.item');
    await openFromInbox(lp, code);
    // First the decision to hand over (移交/升级: due in 15 days), which the recorded 移送 then meets.
    await lp.click('#more-escalate summary');
    await lp.fill('#more-escalate textarea[name=reason]', '涉公职人员，移交纪委监委');
    await lp.click('#submit-escalate');
    await lp.waitForSelector('#escalations');
    expect(await lp.textContent('#escalations')).not.toContain('移送）');
    await lp.click('#more-hand-over summary');
    const date = lp.locator('#more-hand-over input[name=handed_on]');
    const [today, tomorrow] = await lp.evaluate(() => [0, 1].map((d) => new Date(Date.now() + (8 + 24 * d) * 3600_000).toISOString().slice(0, 10)));
    // Today unless changed, and no later: a handover is recorded once done (the server answers 400 in English otherwise).
    expect([await date.inputValue(), await date.getAttribute('max')]).toEqual([today, today]);
    await lp.selectOption('#more-hand-over select[name=to]', 'discipline');
    await lp.fill('#more-hand-over input[name=reference]', '济自然资移〔2026〕8号');
    await date.fill(tomorrow);
    await lp.click('#submit-hand-over');
    expect(await date.evaluate((i) => (i as HTMLInputElement).validity.rangeOverflow)).toBe(true);
    await date.fill(today);
    // A double click sends one request and records one 移送 (it recorded two).
    const sent: string[] = [];
    lp.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/hand-over')) sent.push(r.url());
    });
    await lp.dblclick('#submit-hand-over');
    await lp.waitForSelector('#handovers');
    expect(sent.length).toBe(1);
    expect(await lp.$$eval('#handovers tbody tr', (trs) => trs.length)).toBe(1);
    expect((await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM handovers WHERE code = $1', [code])).rows[0].n).toBe(1);
    expect(await lp.textContent('#handovers tbody tr')).toContain('济自然资移〔2026〕8号');
    expect(await wrappedCells(lp, '#handovers')).toEqual([]);
    expect(await lp.textContent('#escalations')).toContain(`（已于 ${today} 移送）`);
    // The history says to whom and under which 文号, not only 移送.
    expect(await lp.textContent('#history')).toContain(`移送纪委监委，${today}，济自然资移〔2026〕8号`);
    await lp.locator('#handovers').scrollIntoViewIfNeeded();
    await lp.screenshot({ path: join(ARTIFACTS, 'page-handover.png') });
    await lp.context().close();
  });

  it('after the deadlines pass, the lead bureau finds every open item in the overdue list, overdue first in the inbox', async () => {
    clock = new Date('2027-01-06T02:00:00Z'); // 2027-01-06 10:00 in China: past the end-of-December 月清 deadline
    const due = await demo.db.query<{ code: string }>(
      // A closure awaiting review is the lead bureau's to review, not the bureau's overdue (review_overdue).
      // Every month's (the clue filed for last month included): the 逾期 tab is not the month shown's alone.
      `SELECT code FROM cases WHERE status NOT IN ('reviewed', 'closed', 'merged', 'vanished') AND due_date < '2027-01-06' ORDER BY code`,
    );
    expect(due.rows.some((r) => !r.code.includes(`-${demo.scene.epoch.replace('-', '')}-`))).toBe(true);
    expect(due.rows.length).toBeGreaterThan(0);
    const page = await open(lead);
    // Pages of 7 instead of 500 (the demo has fewer overdue items than one page): the list must go past its first page.
    const PAGE = 7;
    expect(due.rows.length).toBeGreaterThan(PAGE);
    await page.route(/\/api\/polygons\?.*overdue=true/, (route) => route.continue({ url: route.request().url().replace(/limit=\d+/, `limit=${PAGE}`) }));
    await page.reload();
    await page.waitForSelector('#inbox-list button.item');
    await expect.poll(() => page.textContent('#overdue-badge')).toBe(String(due.rows.length));
    // The inbox puts them first.
    const firstDue = await page.$eval('#inbox-list button.item .due', (e) => e.className);
    expect(firstDue).toContain('overdue');
    await page.click('#tab-overdue');
    await page.waitForSelector('#overdue-list button.item');
    // As many as the badge says, page after page (加载更多), not the first page alone.
    for (let i = 0; i < Math.ceil(due.rows.length / PAGE) - 1; i++) {
      const n = await page.$$eval('#overdue-list button.item', (bs) => bs.length);
      await page.click('#overdue-more');
      await expect.poll(() => page.$$eval('#overdue-list button.item', (bs) => bs.length)).toBeGreaterThan(n);
    }
    await expect.poll(() => page.isHidden('#overdue-more')).toBe(true);
    const listed = await page.$$eval('#overdue-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!).sort());
    expect(listed).toEqual(due.rows.map((r) => r.code));
    expect(await page.isVisible('#overdue-empty')).toBe(false);
    // The sweep (the lead's POST /api/sweep, else the next read within 10 s) records an overdue escalation, shown on the card.
    expect(await page.evaluate(async () => (await fetch('/api/sweep', { method: 'POST' })).status)).toBe(200);
    // How late, in the deadline's own unit (the API's days_overdue), on the list and the card.
    const late = await page.evaluate(async (c) => (await (await fetch(`/api/polygons/${c}`)).json()).properties, listed[0]);
    const lateText = late.due_rule === 'rectification' ? `逾期 ${late.days_overdue} 个工作日` : `逾期 ${late.days_overdue} 天`;
    expect(late.days_overdue).toBeGreaterThan(0);
    expect(await page.textContent(`#overdue-list button.item[data-code="${listed[0]}"] .due`)).toContain(lateText);
    await page.click(`#overdue-list button.item[data-code="${listed[0]}"]`);
    await page.waitForSelector('#escalations');
    expect(await page.textContent('#escalations')).toContain('逾期');
    expect(await page.textContent('#card-late')).toContain(lateText);
    // 督办: the lead bureau urges the bureau; the card and the overdue list say so, the state and the level stay.
    const level = await page.textContent('#card-escalation');
    await page.click('#more-urge summary');
    await page.fill('#more-urge textarea[name=comment]', '请于三日内完成核查并报送');
    await page.click('#submit-urge');
    await expect.poll(() => page.textContent('#card-urged').catch(() => '')).toContain('已督办 1 次，最近 2027-01-06');
    expect(await page.textContent('#card-urged')).toContain('请于三日内完成核查并报送');
    expect(await page.textContent('#history')).toContain('督办');
    expect(await page.textContent('#card-escalation')).toBe(level);
    await page.click('#card-back');
    await page.click('#tab-overdue');
    await expect.poll(() => page.textContent(`#overdue-list button.item[data-code="${listed[0]}"]`).catch(() => '')).toContain('已督办 1 次（2027-01-06）');
    await page.screenshot({ path: join(ARTIFACTS, 'page-overdue.png') });
    await page.context().close();
  });

  it("a site seen again next month joins its open case: the lead bureau sees the sighting on the case's card and separates it", async () => {
    // Next month's batch holds one polygon continuing an open site of this month, routed the same way.
    const root = (
      await demo.db.query<{ code: string; lead_bureau: string; district_code: string; geometry: string }>(
        `SELECT w.code, w.lead_bureau, w.district_code, ST_AsGeoJSON(ST_GeometryN(w.geom, 1)) AS geometry FROM work_items w JOIN cases c ON c.code = w.code
         WHERE c.status = 'issued' AND w.source = 'satellite' ORDER BY w.code LIMIT 1`,
      )
    ).rows[0];
    const [y, m] = demo.scene.epoch.split('-').map(Number);
    const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
    const code = `${root.district_code}-${next.replace('-', '')}-0001`;
    await writeBatch(demo.db, 'page-next-month', next, [polygon(code, next, JSON.parse(root.geometry), { previousCode: root.code, leadBureau: root.lead_bureau, areaM2: 20000 })], '2027-01-05');
    const errorsBefore = consoleErrors.length;
    // The server makes the new month's cases (the lead's sweep) before the page loads its inbox.
    const token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: lead.name, password: lead.password } })).json().token;
    expect((await app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    const page = await open(lead);
    // The site's item in the inbox says it was seen changing again, and when.
    await page.waitForSelector(`#inbox-list button.item[data-code="${root.code}"] .sighting`);
    expect(await page.textContent(`#inbox-list button.item[data-code="${root.code}"] .sighting`)).toBe(`${next} 再次变化`);
    await page.locator(`#inbox-list button.item[data-code="${root.code}"]`).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'page-inbox-sighting.png') });
    await openFromInbox(page, root.code);
    expect(await page.textContent('#card-sightings')).toContain(code);
    expect(await page.textContent('#history')).toContain('同一地块再次监测到变化');
    await page.click(`#card-sightings button[data-open="${code}"]`);
    await expect.poll(() => page.textContent('#card-status')).toBe('已并入往期');
    expect(await page.textContent('#card-merged')).toContain(root.code);
    expect(await page.textContent('#card-verdict')).toBe('随所并入案件判定');
    await page.screenshot({ path: join(ARTIFACTS, 'page-merged-sighting.png') });
    await page.fill('#more-separate textarea[name=reason]', '相邻新建，非同一地块');
    await page.click('#submit-separate');
    await expect.poll(() => page.textContent('#card-status')).toBe('已下发');
    expect(await page.isVisible('#card-merged')).toBe(false);
    expect(await statusOf(code)).toBe('issued');
    await page.context().close();
    // This test's batch of next month comes without imagery: its card's two chips answer 404, and nothing else failed.
    expect(consoleErrors.splice(errorsBefore).filter((e) => !/status of 404/.test(e))).toEqual([]);
  });

  it('the bureau signs for every listed polygon waiting for it at once (签收), each as its own action', async () => {
    const waiting = async () => (await demo.db.query<{ code: string }>(
      `SELECT w.code FROM work_items w LEFT JOIN cases c ON c.code = w.code
       WHERE coalesce(c.lead_bureau, w.lead_bureau) = $1 AND coalesce(c.status, 'issued') = 'issued' AND w.epoch = $2 ORDER BY w.code`,
      [bureau.bureau, demo.scene.epoch],
    )).rows.map((r) => r.code);
    // By now the earlier tests have worked this bureau's own polygons: the lead bureau routes two
    // more of the month's issued ones to it (改派), as a month's reassignments do.
    const session = await app.inject({ method: 'POST', url: '/api/session', payload: { name: lead.name, password: lead.password } });
    const auth = { authorization: `Bearer ${session.json().token}` };
    const others = (await demo.db.query<{ code: string }>(
      `SELECT w.code FROM work_items w JOIN cases c ON c.code = w.code WHERE c.status = 'issued' AND c.lead_bureau <> $1 AND w.epoch = $2 ORDER BY w.code LIMIT 2`,
      [bureau.bureau, demo.scene.epoch],
    )).rows.map((r) => r.code);
    for (const code of others) {
      const r = await app.inject({ method: 'POST', url: `/api/polygons/${code}/reassign`, headers: auth, payload: { lead_bureau: bureau.bureau, reason: '改派' } });
      expect(r.statusCode, r.body).toBe(200);
    }
    const before = await waiting();
    expect(before).toEqual(expect.arrayContaining(others));
    const page = await open(bureau);
    await page.waitForSelector('#inbox-list button.item');
    // The scene's month (a later test's batch may have added the next one, which the page opens on).
    await page.selectOption('#epoch', demo.scene.epoch);
    await expect.poll(() => page.textContent('#accept-listed')).toContain(`${before.length} 项`);
    page.once('dialog', (d) => d.accept());
    await page.click('#accept-listed');
    await expect.poll(() => page.textContent('#toast')).toContain(`已签收 ${before.length} 项`);
    expect(await waiting()).toEqual([]);
    const audit = await demo.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'accept' AND code = ANY($1::text[]) AND actor = $2", [before, bureau.name]);
    expect(audit.rows[0].n).toBe(before.length);
    await expect.poll(() => page.isVisible('#accept-listed')).toBe(false);
    await page.context().close();
  });

  it('opens a polygon by the code typed into 编号: the whole code, or the last digits of a listed one', async () => {
    const page = await open(lead);
    await page.selectOption('#epoch', demo.scene.epoch);
    await page.waitForSelector('#inbox-list button.item');
    const listed = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!));
    const whole = listed[listed.length - 1];
    await page.fill('#f-code', whole);
    await page.press('#f-code', 'Enter');
    await expect.poll(() => page.textContent('#card-code')).toBe(whole);
    await page.click('#card-back');
    // A tail only one listed code ends with (the serial and the rest: unique among codes of one month).
    const tail = listed.map((c) => c.slice(-6)).find((t, _, all) => all.filter((x) => x === t).length === 1)!;
    await page.fill('#f-code', tail);
    await page.press('#f-code', 'Enter');
    await expect.poll(() => page.textContent('#card-code')).toBe(listed.find((c) => c.endsWith(tail)));
    await page.click('#card-back');
    await page.fill('#f-code', 'nothing-ends-so');
    await page.press('#f-code', 'Enter');
    await expect.poll(() => page.textContent('#toast')).toContain('没有以 nothing-ends-so 结尾');
    await page.context().close();
  });

  it('in the field, on a phone, the page fits the screen; the card prints as a 外业核查表 with both epochs', async () => {
    const page = await open(bureau, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await page.waitForSelector('#inbox-list button.item');
    expect(await fits()).toBe(true);
    // The map on top, as wide as the screen and tall enough to find the site; the list below it.
    const map = (await page.locator('#map').boundingBox())!;
    const list = (await page.locator('#inbox-list').boundingBox())!;
    expect([map.width >= 380, map.height >= 250, list.y >= map.y + map.height - 1]).toEqual([true, true, true]);
    const code = visible[0];
    await page.click(`#inbox-list button.item[data-code="${code}"]`);
    await page.waitForSelector('#card-body .facts');
    await page.waitForFunction(() => (document.getElementById('print-chip-after') as HTMLImageElement | null)?.naturalWidth! > 0);
    expect(await fits()).toBe(true);
    // The card and every control in it stay inside the screen.
    const widest = await page.$$eval('#card-body, #card-body button, #card-body input, #card-body select, #card-body textarea', (els) =>
      Math.max(...els.filter((e) => e.getClientRects().length > 0).map((e) => e.getBoundingClientRect().right)),
    );
    expect(widest).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'page-phone-card.png'), fullPage: true });
    expect(await page.isVisible('#field-sheet')).toBe(false);
    expect(await page.isVisible('#card-print')).toBe(true);

    // On paper: no map, tabs or forms; the facts, both chips side by side and the blank field record.
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#map')).toBe(false);
    expect(await page.isVisible('#actions')).toBe(false);
    expect(await page.isVisible('#card-print')).toBe(false);
    expect(await page.isVisible('#field-sheet')).toBe(true);
    expect(await page.textContent('#field-sheet')).toContain('核查人签字');
    expect(await page.isVisible('.print-title')).toBe(true);
    expect(await page.isVisible('#evidence-box form')).toBe(false);
    const [before, after] = await Promise.all(['#print-chip-before', '#print-chip-after'].map((s) => page.locator(s).boundingBox()));
    expect(before!.width).toBeGreaterThan(100);
    expect(Math.abs(before!.y - after!.y)).toBeLessThan(2);
    expect(after!.x).toBeGreaterThan(before!.x + before!.width - 1);
    await page.screenshot({ path: join(ARTIFACTS, 'page-print-sheet.png'), fullPage: true });
    const pdf = await page.pdf({ path: join(ARTIFACTS, 'field-sheet.pdf'), format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');

    // Drawing started far down the page (the clue form scrolled to its end) brings the map and its bar into sight.
    await page.emulateMedia({ media: 'screen' });
    await page.click('#card-back');
    await page.click('#tab-clue');
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    expect(await page.evaluate(() => document.getElementById('map')!.getBoundingClientRect().top)).toBeLessThan(-40);
    await page.tap('#clue-point');
    await page.waitForSelector('#draw-bar:not([hidden])');
    const inSight = () => page.evaluate(() => ['map', 'draw-bar'].map((id) => document.getElementById(id)!.getBoundingClientRect()).every((r) => r.top >= 0 && r.bottom <= window.innerHeight));
    await expect.poll(inSight).toBe(true);
    await page.tap('#draw-cancel');
    await page.context().close();
  });

  it('the admin sees the accounts and no polygons', async () => {
    const page = await open({ name: 'admin1', password: PASSWORD, bureau: null });
    await page.waitForSelector('#users-table');
    const names = await page.$$eval('#users-table tbody th', (ths) => ths.map((t) => t.textContent));
    expect(names).toEqual(['admin1', 'bureau1', 'district1', 'lead1']);
    // Disabling takes effect at once (the embedded database is the server's alone), and is undone.
    const status = () => page.textContent('#users-table tbody tr:nth-child(3) td:nth-of-type(3)');
    await page.click('#users-table button[data-user="district1"]');
    await expect.poll(status).toBe('已停用');
    expect((await app.inject({ method: 'POST', url: '/api/session', payload: { name: district.name, password: district.password } })).statusCode).toBe(401);
    await page.click('#users-table button[data-user="district1"]');
    await expect.poll(status).toBe('正常');
    expect(await page.$('#users-table button[data-user="admin1"]')).toBeNull();
    expect(await page.isVisible('#tab-inbox')).toBe(false);
    expect(await page.isVisible('#tab-users')).toBe(true);
    await page.context().close();
  });

  /**
   * One of the bureau's polygons with no verdict yet, signed for (签收) through the API if it was not:
   * the first by code (`first`) or the last. With a token of the bureau's for the API.
   */
  async function acceptedUnjudged(which: 'first' | 'last'): Promise<{ code: string; auth: { authorization: string } }> {
    const pick = await demo.db.query<{ code: string; status: string }>(
      `SELECT w.code, coalesce(c.status, 'issued') AS status FROM work_items w LEFT JOIN cases c ON c.code = w.code
       WHERE coalesce(c.lead_bureau, w.lead_bureau) = $1 AND coalesce(c.status, 'issued') IN ('issued', 'accepted') AND c.verdict IS NULL AND w.geom IS NOT NULL
       ORDER BY w.code ${which === 'first' ? 'ASC' : 'DESC'} LIMIT 1`,
      [bureau.bureau],
    );
    const { code } = pick.rows[0];
    const session = await app.inject({ method: 'POST', url: '/api/session', payload: { name: bureau.name, password: bureau.password } });
    const auth = { authorization: `Bearer ${session.json().token}` };
    if (pick.rows[0].status === 'issued') {
      const r = await app.inject({ method: 'POST', url: `/api/polygons/${code}/accept`, headers: auth });
      expect(r.statusCode, r.body).toBe(200);
    }
    return { code, auth };
  }

  it('two tabs on one card: the second verdict, from a card loaded before the first, is refused and the card shows the first', async () => {
    const { code } = await acceptedUnjudged('last');
    const tabs = [await open(bureau), await open(bureau)];
    for (const page of tabs) {
      await page.fill('#f-code', code);
      await page.press('#f-code', 'Enter');
      await expect.poll(() => page.textContent('#card-code')).toBe(code);
      await page.waitForSelector('#verdict-form');
    }
    const [first, second] = tabs;
    await first.check('input[name=verdict][value=illegal]');
    await first.selectOption('#violation-type', 'illegal_occupation');
    await first.click('#verdict-submit');
    await expect.poll(() => first.textContent('#card-verdict')).toContain('违法');
    // The second tab still shows the card as it was loaded (no verdict) and decides otherwise.
    await second.check('input[name=verdict][value=other]');
    await second.selectOption('#other-situation', 'seasonal');
    await second.fill('#other-reason', '季节性');
    const before = consoleErrors.length;
    await second.click('#verdict-submit');
    await expect.poll(() => second.textContent('#toast')).toContain(`已被${bureau.name}（判定）更新，您的提交未保存`);
    await expect.poll(() => second.textContent('#card-verdict')).toContain('违法');
    // What the second tab typed is still in its form (now under 修改判定), to check against the first and send again or not.
    await expect.poll(() => second.inputValue('#other-reason')).toBe('季节性');
    const rows = await demo.db.query<{ verdict: string; n: number }>(
      `SELECT verdict, (SELECT count(*)::int FROM audit_log WHERE code = $1 AND action = 'verdict') AS n FROM cases WHERE code = $1`,
      [code],
    );
    expect(rows.rows[0]).toEqual({ verdict: 'illegal', n: 1 });
    // Chromium logs the refused POST (409): the refusal is this check's, not the page's.
    await expect.poll(() => consoleErrors.length).toBe(before + 1);
    expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('409')]);
    for (const page of tabs) await page.context().close();
  });

  it('a verdict on a card the lead bureau reassigned meanwhile is refused in words, and the card and the list drop what is no longer the bureau\'s', async () => {
    const { code } = await acceptedUnjudged('last');
    const page = await open(bureau);
    await page.fill('#f-code', code);
    await page.press('#f-code', 'Enter');
    await page.waitForSelector('#verdict-form');
    const other = Object.keys(DEFAULT_RULES.bureaus ?? {}).find((b) => b !== bureau.bureau && b !== 'township') ?? (bureau.bureau === 'water' ? 'forestry' : 'water');
    const session = await app.inject({ method: 'POST', url: '/api/session', payload: { name: lead.name, password: lead.password } });
    const r = await app.inject({ method: 'POST', url: `/api/polygons/${code}/reassign`, headers: { authorization: `Bearer ${session.json().token}` }, payload: { lead_bureau: other, reason: '涉及其他单位职责' } });
    expect(r.statusCode, r.body).toBe(200);
    await page.check('input[name=verdict][value=illegal]');
    await page.selectOption('#violation-type', 'illegal_occupation');
    const before = consoleErrors.length;
    await page.click('#verdict-submit');
    await expect.poll(() => page.textContent('#toast')).toContain('可能已改派给其他单位），您的提交未保存');
    // The card is drawn again as the case now is: no verdict form (a co-handler's card, or none at all).
    await expect.poll(() => page.locator('#verdict-form').count()).toBe(0);
    await page.click('#card-back');
    // Gone from the list, or listed as co-handled (协办) only: it is no longer the bureau's to judge.
    await expect.poll(() => page.$$eval(`#inbox-list button.item[data-code="${code}"]`, (bs) => bs.every((b) => b.querySelector('.badge.co') !== null))).toBe(true);
    expect((await demo.db.query<{ verdict: string | null }>('SELECT verdict FROM cases WHERE code = $1', [code])).rows[0].verdict).toBeNull();
    for (const e of await settledErrors(before)) expect(e).toMatch(/40[34]/);
    // Back to the bureau (issued again, unjudged), for the tests below.
    const back = await app.inject({ method: 'POST', url: `/api/polygons/${code}/reassign`, headers: { authorization: `Bearer ${session.json().token}` }, payload: { lead_bureau: bureau.bureau, reason: '改回' } });
    expect(back.statusCode, back.body).toBe(200);
    await page.context().close();
  });

  it('a session that expires while a verdict is typed: signing in again gives the same user the card with what was typed, and no one else', async () => {
    const { code } = await acceptedUnjudged('first');
    const page = await open(bureau);
    const typeAndExpire = async (reason: string) => {
      await page.fill('#f-code', code);
      await page.press('#f-code', 'Enter');
      await expect.poll(() => page.textContent('#card-code')).toBe(code);
      await page.waitForSelector('#verdict-form');
      await page.check('input[name=verdict][value=other]');
      await page.selectOption('#other-situation', 'seasonal');
      await page.fill('#other-reason', reason);
      await mapIdle(page); // the map's tiles for the card are in: the submit is the next request
      // The server no longer takes the session (as after 12 hours): the submit is a 401.
      await page.evaluate(() => ((window as unknown as { tuban: { token: string } }).tuban.token = 'expired'));
      // (A map or list request may meet the 401 first and sign the page out before the click lands.)
      await page.click('#verdict-submit', { timeout: 3000 }).catch(() => undefined);
      await page.waitForSelector('#login:not([hidden])');
      await expect.poll(() => page.textContent('#login-error')).toBe('登录已过期，请重新登录');
    };
    const signIn = async (u: PageUser) => {
      await page.fill('#login-name', u.name);
      await page.fill('#login-password', u.password);
      await page.press('#login-password', 'Enter');
      await page.waitForSelector('#inbox-list button.item', { state: 'attached' });
    };
    const before = consoleErrors.length;
    await typeAndExpire('临时堆放，待复核');
    await signIn(bureau);
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await expect.poll(() => page.inputValue('#other-reason')).toBe('临时堆放，待复核');
    expect(await page.isChecked('input[name=verdict][value=other]')).toBe(true);
    await expect.poll(() => page.textContent('#toast')).toContain('已恢复登录过期前');
    // Given back once, and nothing was recorded: the user checks it and submits.
    expect(await page.evaluate(() => sessionStorage.getItem('tuban.draft'))).toBeNull();
    expect((await demo.db.query('SELECT verdict FROM cases WHERE code = $1', [code])).rows[0]).toEqual({ verdict: null });
    // Another user signing in at the same tab gets neither the card nor the text.
    await page.click('#card-back');
    await typeAndExpire('另一人不应看到');
    expect(await page.evaluate(() => sessionStorage.getItem('tuban.draft'))).toContain('另一人不应看到');
    await signIn(district);
    expect(await page.isHidden('#view-card')).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('tuban.draft'))).toBeNull();
    for (const e of await closeAndTakeErrors(page, before)) expect(e).toContain('401');
  });

  it('a draft given back after a colleague changed the case while the user was signed out says who changed it', async () => {
    const { code, auth } = await acceptedUnjudged('last');
    const page = await open(bureau);
    // From here on, Chromium logs the expired session's 401s: this check's, not the page's.
    const before = consoleErrors.length;
    await page.fill('#f-code', code);
    await page.press('#f-code', 'Enter');
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await page.waitForSelector('#verdict-form');
    await page.check('input[name=verdict][value=other]');
    await page.selectOption('#other-situation', 'seasonal');
    await page.fill('#other-reason', '季节性，待复核');
    await mapIdle(page);
    await page.evaluate(() => ((window as unknown as { tuban: { token: string } }).tuban.token = 'expired'));
    await page.click('#verdict-submit', { timeout: 3000 }).catch(() => undefined);
    await page.waitForSelector('#login:not([hidden])');
    // Meanwhile a colleague at the same bureau judges it.
    const judged = await app.inject({
      method: 'POST',
      url: `/api/polygons/${code}/verdict`,
      headers: auth,
      payload: { verdict: 'legal', approval_doc_no: '济政土字〔2026〕7号' },
    });
    expect(judged.statusCode, judged.body).toBe(200);
    await page.fill('#login-name', bureau.name);
    await page.fill('#login-password', bureau.password);
    await page.press('#login-password', 'Enter');
    await expect.poll(() => page.textContent('#card-code')).toBe(code);
    await expect.poll(() => page.inputValue('#other-reason')).toBe('季节性，待复核');
    // Not a plain "restored": the case is no longer what the text was typed against.
    await expect.poll(() => page.textContent('#toast')).toContain(`此图斑在您登录过期期间已被${bureau.name}（判定）更新`);
    for (const e of await closeAndTakeErrors(page, before)) expect(e).toContain('401');
  });

  it('a session that ends while only the map is asking (the earlier imagery shown) signs the page out, and says so', async () => {
    const page = await open(bureau);
    await mapIdle(page);
    const before = consoleErrors.length;
    await page.evaluate(() => ((window as unknown as { tuban: { token: string } }).tuban.token = 'expired'));
    // Nothing but the map's own requests: the other epoch's imagery tiles.
    await page.click('#show-before');
    await page.waitForSelector('#login:not([hidden])', { timeout: 15_000 });
    await expect.poll(() => page.textContent('#login-error')).toBe('登录已过期，请重新登录');
    // Every error is a 401 said as such (Chromium's own network line, or none at all).
    for (const e of await closeAndTakeErrors(page, before)) expect(e).toContain('401');
  });

  it('needed nothing from outside the host and logged no errors', () => {
    expect(external).toEqual([]);
    expect(consoleErrors.filter((e) => !/favicon/.test(e)), consoleErrors.join('\n')).toEqual([]);
  });
});
