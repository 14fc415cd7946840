/**
 * The page on a common government office screen (1366 × 768) in Chromium (as web/page.test.ts:
 * Debian's /usr/bin/chromium through playwright-core, the app `tuban serve` runs, nothing leaving
 * 127.0.0.1), read as its users read it: in Chinese.
 *  - The map's own controls (MapLibre's zoom buttons and the map's label) speak Chinese, not English.
 *  - The card's 分派理由 is the rule's reason; the rule table's id (`forest_land`) is no text of the
 *    card or its printed 外业核查表, only a tooltip for whoever maintains the table.
 *  - The lead bureau's month summary keeps each column heading whole on one line in the 440 px panel
 *    (图斑 was split 图 / 斑, 待签收 待签 / 收); the district table fits the panel, the wider by-bureau
 *    table scrolls sideways in its own box, no wider than the panel (web/page-ledger-tab.test.ts).
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

/** The lead bureaus of the month, as a city's are: several, some with long names. */
const BUREAUS = ['forestry', 'natural_resources', 'agriculture', 'transport', 'water', 'ecology_environment', 'urban_management'];

describe.skipIf(!haveBrowser)('the page on a 1366 × 768 office screen', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  /** Paths answered 404: these polygons have no imagery stored, so the card's chips are 404. */
  const notFound: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-office-screen-'));
    db = await openTestDatabase();
    const polys = BUREAUS.map((bureau, i) =>
      polygon(`370102-202610-000${i + 1}`, '2026-10', square(117.0 + i * 0.002, 36.6), {
        leadBureau: bureau,
        ...(bureau === 'forestry' ? { routingReason: '林地 占 100%；涉及林地的图斑由园林和林业绿化局牵头审核', ruleId: 'forest_land' } : {}),
      }),
    );
    await writeBatch(db, 'b-2026-10', '2026-10', polys, '2026-10-28');
    await addUsers(db, [['chief', 'lead']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'office-screen-secret-office-screen-01', now: new Date('2026-11-03T02:00:00Z') }));
    await page.setViewportSize({ width: 1366, height: 768 });
    page.on('response', (r) => void (r.status() === 404 && notFound.push(new URL(r.url()).pathname)));
    await openSignedIn(page, base, '/?epoch=2026-10', 'chief', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the map\'s zoom buttons and the map itself are named in Chinese', async () => {
    const zoomIn = page.locator('.maplibregl-ctrl-zoom-in');
    await zoomIn.waitFor({ timeout: 30_000 });
    expect([await zoomIn.getAttribute('title'), await zoomIn.getAttribute('aria-label')]).toEqual(['放大', '放大']);
    const zoomOut = page.locator('.maplibregl-ctrl-zoom-out');
    expect([await zoomOut.getAttribute('title'), await zoomOut.getAttribute('aria-label')]).toEqual(['缩小', '缩小']);
    expect(await page.locator('canvas.maplibregl-canvas').getAttribute('aria-label')).toBe('地图');
  });

  it('the card\'s 分派理由 is the reason, the rule\'s id only a tooltip (on screen and on paper)', async () => {
    await page.fill('#f-code', '370102-202610-0001');
    await page.press('#f-code', 'Enter');
    const reason = page.locator('#card-routing-reason');
    await reason.waitFor({ timeout: 30_000 });
    expect(await reason.innerText()).toBe('林地 占 100%；涉及林地的图斑由园林和林业绿化局牵头审核');
    expect(await reason.getAttribute('title')).toBe('分派规则 forest_land');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#card-body').innerText()).not.toContain('forest_land');
    await page.emulateMedia({ media: 'screen' });
    await page.click('#card-back');
  });

  it('the lead bureau\'s summary keeps every column heading on one line, each table within the panel', async () => {
    await page.click('#tab-ledger');
    await page.locator('#summary-bureau-table tbody tr').nth(BUREAUS.length - 1).waitFor({ timeout: 30_000 });
    const tables = await page.evaluate(() =>
      ['#summary-table', '#summary-bureau-table'].map((id) => {
        const table = document.querySelector(id)!;
        // A heading's text on two lines has two line boxes.
        const split = [...table.querySelectorAll('thead th')].filter((th) => {
          const range = document.createRange();
          range.selectNodeContents(th);
          return range.getClientRects().length > 1;
        });
        return { id, split: split.map((th) => th.textContent), width: table.scrollWidth, box: table.parentElement!.clientWidth, panel: document.querySelector('#summary')!.clientWidth };
      }),
    );
    for (const t of tables) {
      expect(t.split, t.id).toEqual([]);
      expect(t.box, t.id).toBeLessThanOrEqual(t.panel);
    }
    expect(tables[0].width).toBeLessThanOrEqual(tables[0].panel);
    expect(await page.$eval('#view-ledger', (v) => v.scrollWidth - v.clientWidth)).toBeLessThanOrEqual(0);
  });

  it('asked nothing of the internet and logged no error but the missing chips’ 404', () => {
    expect(external).toEqual([]);
    expect(notFound.filter((p) => !/^\/api\/polygons\/[\w-]+\/chips\/(before|after)\.png$/.test(p))).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
  });
});
