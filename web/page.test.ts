/**
 * The page in a real browser: Debian's Chromium (`apt-get install chromium fonts-wqy-microhei`)
 * driven by playwright-core, against the app `tuban serve` runs (server/serve-app.ts: the API,
 * the page, imagery tiles and chips) on 127.0.0.1:0 over a real batch in an embedded database
 * directory, with accounts made by the real user store. Every request that leaves the host is
 * blocked and counted (the page must need none). Screenshots land in out/test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBatch } from '../server/testing/demo-batch.js';
import type { DemoBatch } from '../server/testing/demo-batch.js';
import { addUsers, PASSWORD } from '../server/testing/fixtures.js';
import { buildServeApp } from '../server/serve-app.js';
import { loadCalendar } from '../server/deadlines/calendar.js';
import { DEFAULT_DEADLINES } from '../server/deadlines/rules.js';

interface PageUser {
  name: string;
  password: string;
  bureau: string | null;
}

const CHROMIUM = process.env.TUBAN_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = 'out/test-artifacts';
// Under CI a missing browser is a failure, not a skip (as for the database servers).
const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';

/**
 * Chromium flags: no GPU on a server, so WebGL (which MapLibre needs) runs on SwiftShader
 * through ANGLE; `--disable-gpu` would turn WebGL off altogether, so it is not used.
 */
const ARGS = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'];

describe.skipIf(!haveBrowser)('the page in Chromium', () => {
  let dir: string;
  let demo: DemoBatch;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let bureau: PageUser;
  let lead: PageUser;
  let visible: string[];
  /** The polygon the bureau judged illegal, which the lead then finds in the ledger. */
  let judged: string | undefined;
  const external: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-page-'));
    await mkdir(ARTIFACTS, { recursive: true });
    demo = await demoBatch(dir, { dbTarget: join(dir, 'db') });
    // A bureau that leads polygons but does not see them all, so "only its own" can fail.
    const top = await demo.db.query<{ lead_bureau: string }>(
      `SELECT b.lead_bureau FROM (SELECT DISTINCT lead_bureau FROM polygons) b
       WHERE (SELECT count(*) FROM polygons p WHERE p.lead_bureau = b.lead_bureau OR p.co_bureaus @> jsonb_build_array(b.lead_bureau))
             < (SELECT count(*) FROM polygons)
       ORDER BY (SELECT count(*) FROM polygons p WHERE p.lead_bureau = b.lead_bureau) DESC, b.lead_bureau LIMIT 1`,
    );
    bureau = { name: 'bureau1', password: PASSWORD, bureau: top.rows[0].lead_bureau };
    lead = { name: 'lead1', password: PASSWORD, bureau: null };
    await addUsers(demo.db, [
      [bureau.name, 'bureau', bureau.bureau!],
      [lead.name, 'lead'],
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
    });
    app = served.app;
    await served.warmed;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await demo?.db.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(user: PageUser): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
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

    // Keyboard: J moves down the list (to the first polygon this bureau leads), Enter opens the card.
    const led = new Set((await demo.db.query<{ code: string }>('SELECT code FROM polygons WHERE lead_bureau = $1', [bureau.bureau])).rows.map((r) => r.code));
    let first: string | undefined;
    for (let i = 0; i < codes.length; i++) {
      await page.keyboard.press('j');
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
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-card.png') });

    // Sign for it, then record 违法 with a violation type.
    const owned = await page.evaluate(() => document.querySelector('#act-accept') !== null);
    if (owned) {
      await page.click('#act-accept');
      await page.waitForSelector('#verdict-form');
      await page.check('input[name=verdict][value=illegal]');
      await page.selectOption('#violation-type', 'illegal_occupation');
      await page.click('#verdict-submit');
      await expect.poll(() => page.textContent('#card-verdict')).toContain('违法');
      expect(await page.textContent('#card-status')).toBe('已判定');
      expect(await page.textContent('#history')).toContain('判定');
      await page.screenshot({ path: join(ARTIFACTS, 'page-verdict.png') });
      judged = first;
      // The ledger is the lead bureau's: a bureau's session is refused.
      const before = consoleErrors.length;
      expect(await page.evaluate(async (u) => (await fetch(u)).status, `/api/ledger/${demo.scene.epoch}.csv`)).toBe(403);
      // Chromium logs the refused fetch; that one error is this check's, not the page's.
      await expect.poll(() => consoleErrors.length).toBe(before + 1);
      expect(consoleErrors.splice(before)).toEqual([expect.stringContaining('403')]);
    }
    expect(owned).toBe(true);
    await page.context().close();
  });

  it('the lead bureau sees every polygon, the ledger links and the month summary with the verdict', async () => {
    const page = await open(lead);
    await page.waitForSelector('#inbox-list button.item');
    const all = await demo.db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygons');
    expect(await page.$$eval('#inbox-list button.item', (b) => b.length)).toBe(all.rows[0].n);
    await page.click('#tab-ledger');
    await page.waitForSelector('#summary-table');
    const links = await page.$$eval('#ledger-links a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toContain(`/api/ledger/${demo.scene.epoch}.xlsx`);
    const totals = await page.$$eval('#summary-table tfoot td', (tds) => tds.map((t) => t.textContent));
    expect(totals[0]).toBe(String(all.rows[0].n));
    expect(totals[3]).toBe('1'); // 违法: the verdict the bureau just recorded
    // The ledger link the page offers is the real export: the judged polygon's row carries the verdict, the others are 未核查.
    const csvHref = links.find((h) => h!.endsWith('.csv'))!;
    const csv = await page.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, csvHref);
    expect([csv.status, csv.type]).toEqual([200, 'text/csv; charset=utf-8']);
    const [head, ...lines] = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    const cols = head.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    expect(rows.length).toBe(all.rows[0].n);
    expect(judged).toBeDefined();
    const row = rows.find((r) => r['图斑编号'] === judged)!;
    expect([row['判定类型'], row['违法类型']]).toEqual(['违法', '非法占用土地']);
    expect(rows.filter((r) => r['判定类型'] === '未核查').length).toBe(all.rows[0].n - 1);
    await mapIdle(page);
    await page.screenshot({ path: join(ARTIFACTS, 'page-lead-ledger.png') });
    await page.context().close();
    expect(external).toEqual([]);
    expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
  });
});
