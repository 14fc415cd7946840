/**
 * The lead bureau's month in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium through
 * playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1), over two small months:
 * October with four polygons, November with one. A slow answer is the browser's real fetch held
 * back by page.route, not a stand-in for the server.
 *  - The 台账与月报 summary shows the month selected, even when the previous month's pages come back later.
 *  - The map (GeoJSON by bounding box on the embedded database) asks for a padded box and does not
 *    ask again for a view inside it; a view outside it, or another month, is asked for.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';


type MapLike = { panBy(o: [number, number], opts: object): void; getBounds(): { getWest(): number; getEast(): number }; isMoving(): boolean; loaded(): boolean };
type Tuban = { mapReady: boolean; map: MapLike };

describe.skipIf(!haveBrowser)('the lead bureau\'s month in Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  /** Every request of the map's polygon layer, in order. */
  const layerRequests: URL[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-lead-month-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [0, 1, 2, 3].map((i) => polygon(`370102-202610-000${i + 1}`, '2026-10', square(117.0 + i * 0.002, 36.6))), '2026-10-28');
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon('370102-202611-0001', '2026-11', square(117.001, 36.603))], '2026-11-28');
    await addUsers(db, [['chief', 'lead']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'lead-month-secret-lead-month-secret-01', now: new Date('2026-12-03T02:00:00Z') }));
    page.on('request', (r: Request) => r.url().includes('/api/map/polygons.geojson') && layerRequests.push(new URL(r.url())));
    await openSignedIn(page, base, '/?epoch=2026-10#map=15/36.6005/117.004', 'chief', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The map's style and data in, nothing moving. */
  async function mapSettled(): Promise<void> {
    await page.waitForFunction(() => {
      const t = (window as unknown as { tuban: Tuban }).tuban;
      return t.mapReady && t.map.loaded() && !t.map.isMoving();
    }, undefined, { timeout: 60_000 });
  }

  /** The summary's 图斑 total (the district table's 合计 line). */
  const summaryTotal = () => page.locator('#summary-table tfoot td').first().innerText();

  it('the summary shows the month selected when the previous month\'s pages come back after it', async () => {
    await page.click('#tab-ledger');
    await expect.poll(summaryTotal, { timeout: 30_000 }).toBe('4');
    await page.click('#tab-inbox');
    // October's summary pages (the list view, 10 000 a page) come back slowly, as on a slow line.
    const october = (url: URL) => url.pathname === '/api/polygons' && url.searchParams.get('epoch') === '2026-10' && url.searchParams.get('limit') === '10000';
    let held = 0;
    await page.route(october, async (route) => {
      held++;
      await new Promise((r) => setTimeout(r, 2000));
      await route.continue();
    });
    const slowAnswer = page.waitForEvent('requestfinished', { predicate: (r) => october(new URL(r.url())), timeout: 30_000 });
    // The user opens the tab again on October, and picks November while October's pages are on their way.
    await page.click('#tab-ledger');
    await expect.poll(() => held).toBe(1);
    await page.selectOption('#epoch', '2026-11');
    await expect.poll(summaryTotal, { timeout: 30_000 }).toBe('1');
    await slowAnswer;
    // What the page does with October's late answer happens within a few tasks of its arrival.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    expect(await summaryTotal()).toBe('1');
    expect(await page.locator('#report-heading').innerText()).toContain('2026Q4');
    await page.unroute(october);
    await page.click('#tab-inbox');
  });

  it('the map asks for a padded box, not again for a small pan inside it, again for a view outside it or another month', async () => {
    // Back to October (the view is the address's, z15): the month's layer is asked for.
    await page.selectOption('#epoch', '2026-10');
    if (db.kind === 'postgres') {
      // A PostgreSQL server gives the map vector tiles (map-source.js), which MapLibre keeps and
      // revalidates by itself: no box to pad, and no GeoJSON asked for.
      const source = () =>
        page.evaluate(() => {
          const s = (window as unknown as { tuban: { map: { getSource(id: string): { type: string; tiles?: string[] } | undefined } } }).tuban.map.getSource('polygons');
          return s && { type: s.type, tiles: s.tiles };
        });
      await expect.poll(async () => (await source())?.tiles?.[0] ?? '', { timeout: 30_000 }).toContain('epoch=2026-10');
      expect((await source())?.type).toBe('vector');
      expect(layerRequests).toEqual([]);
      return;
    }
    await expect.poll(() => [layerRequests.at(-1)?.searchParams.get('epoch'), layerRequests.at(-1)?.searchParams.get('zoom')], { timeout: 30_000 }).toEqual(['2026-10', '15']);
    await mapSettled();
    const asked = layerRequests.length;
    const last = layerRequests.at(-1)!;
    // The box asked for is wider than the view: half a view more on each side.
    const [w, , e] = last.searchParams.get('bbox')!.split(',').map(Number);
    const view = await page.evaluate(() => { const b = (window as unknown as { tuban: Tuban }).tuban.map.getBounds(); return [b.getWest(), b.getEast()]; });
    expect(e - w).toBeCloseTo(2 * (view[1] - view[0]), 4);

    // A small pan stays inside the box: nothing is asked (the layer's reload waits 150 ms after moveend).
    await page.evaluate(() => (window as unknown as { tuban: Tuban }).tuban.map.panBy([120, 60], { animate: false }));
    await mapSettled();
    await page.evaluate(() => new Promise((r) => setTimeout(r, 800)));
    expect(layerRequests.length).toBe(asked);

    // A pan of a whole view leaves it: asked.
    await page.evaluate(() => (window as unknown as { tuban: Tuban }).tuban.map.panBy([1400, 0], { animate: false }));
    await expect.poll(() => layerRequests.length, { timeout: 30_000 }).toBe(asked + 1);
    await mapSettled();

    // Another month over the same view: asked, for that month.
    await page.selectOption('#epoch', '2026-11');
    await expect.poll(() => layerRequests.at(-1)?.searchParams.get('epoch'), { timeout: 30_000 }).toBe('2026-11');
  });

  it('asked nothing of the internet and logged no error', () => {
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
