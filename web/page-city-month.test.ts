/**
 * The page over a city's month in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium through
 * playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1): 10 100 synthetic polygons
 * of 2026-10 (server/testing/fixtures.ts insertSyntheticPolygons), which the lead bureau sees all of.
 * The inbox asks for its list view (no outlines), and a map zoomed out past the layer's cap says it
 * shows only part of the view, and stops saying so once zoomed in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, insertSyntheticPolygons, openTestDatabase } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';


describe.skipIf(!haveBrowser)('the page over a city month in Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];
  const inboxUrls: string[] = [];
  const layerUrls: URL[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-city-'));
    db = await openTestDatabase();
    // A 300-column grid of 0.001° cells from 117.1 E, 36.1 N: 34 rows, all in one city-zoom view and
    // in one z10 vector tile (10/845/401), which the cap cuts on a PostgreSQL server.
    await insertSyntheticPolygons(db, 10_100, [117.1, 36.1]);
    // Some of high priority on every page, so a page's triage order differs from the server's.
    await db.query(`UPDATE polygons SET priority = 'high' WHERE code LIKE '%3_'`);
    await addUsers(db, [['chief', 'lead']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'city-test-secret-city-test-secret-0123', now: new Date('2026-11-03T02:00:00Z') }));
    page.on('request', (r) => r.url().includes('/api/polygons?') && inboxUrls.push(r.url()));
    page.on('request', (r) => r.url().includes('/api/map/polygons.geojson') && layerUrls.push(new URL(r.url())));
    await openSignedIn(page, base, '/?epoch=2026-10#map=14/36.117/117.25', 'chief', consoleErrors);
    // The first request syncs the month's 10 100 cases (a minute on a busy machine).
    await page.waitForSelector('#inbox-list li', { timeout: 150_000 }).catch(async (err) => {
      await page.screenshot({ path: 'out/test-artifacts/page-city-month-start.png' });
      throw new Error(`${err.message}; console: ${consoleErrors.join(' | ')}`);
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The polygon layer's answer for the view now is in (map-source.js), nothing moving. */
  async function mapSettled(): Promise<void> {
    await page.waitForFunction(() => {
      const t = (window as unknown as { tuban: { mapReady: boolean; map: { loaded(): boolean; isMoving(): boolean; getSource(id: string): unknown } } }).tuban;
      return t.mapReady && t.map.loaded() && !t.map.isMoving();
    }, undefined, { timeout: 60_000 });
  }

  it('lists the inbox from its list view: no outlines in the list', async () => {
    expect(inboxUrls.length).toBeGreaterThan(0);
    for (const u of inboxUrls) expect(new URL(u).searchParams.get('view'), u).toBe('list');
    expect(await page.locator('#inbox-list li').count()).toBe(500);
    await expect.poll(() => page.locator('#counts').innerText()).toContain('10100');
  });

  it('加载更多 appends the next page below the items read, each page high priority first', async () => {
    const listed = () => page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => [b.getAttribute('data-code'), b.querySelector('.badge.danger') !== null] as const));
    const first = await listed();
    await page.click('#inbox-more');
    await expect.poll(() => page.locator('#inbox-list li').count()).toBe(1000);
    const both = await listed();
    expect(both.slice(0, 500)).toEqual(first);
    const second = both.slice(500);
    const highs = second.filter(([, high]) => high).length;
    expect(highs).toBeGreaterThan(0);
    expect(second.slice(0, highs).every(([, high]) => high)).toBe(true);
    // The next page is the server's: no code twice.
    expect(new Set(both.map(([c]) => c)).size).toBe(1000);
  });

  it('加载更多 clicked twice while its page is on its way adds that page once, and a filter changed meanwhile is not mixed with it', async () => {
    // Each next page takes a while, as on a slow line.
    const slowNext = (url: URL) => url.pathname === '/api/polygons' && url.searchParams.has('cursor');
    await page.route(slowNext, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    const codes = () => page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => b.getAttribute('data-code')));
    const before = (await codes()).length;
    await page.click('#inbox-more');
    await page.click('#inbox-more');
    await expect.poll(() => page.locator('#inbox-list li').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(before + 500);
    await page.waitForTimeout(2500);
    const listed = await codes();
    expect(listed.length).toBe(before + 500);
    expect(new Set(listed).size).toBe(listed.length);
    // The next page of the old filter comes back after the new filter's first: it is dropped.
    await page.click('#inbox-more');
    await page.selectOption('#f-priority', 'high');
    await page.waitForTimeout(2500);
    const high = await page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => b.querySelector('.badge.danger') !== null));
    expect(high.length).toBe(500);
    expect(high.every(Boolean)).toBe(true);
    await page.unroute(slowNext);
    await page.selectOption('#f-priority', '');
    await expect.poll(() => page.locator('#inbox-list li').count(), { timeout: 10_000 }).toBe(500);
  });

  it('says when a zoomed-out map shows only part of the view, and not once zoomed in', async () => {
    type Map = { jumpTo(o: object): void };
    const jump = (zoom: number) => page.evaluate((z) => (window as unknown as { tuban: { map: Map } }).tuban.map.jumpTo({ center: [117.25, 36.117], zoom: z }), zoom);
    await mapSettled();
    expect(await page.locator('#map-note').isHidden()).toBe(true);
    if (db.kind === 'postgres') {
      // Vector tiles: the z10 tile holding all 10 100 is cut at 10 000 and says so in a `truncated` layer.
      await jump(10.5);
      await mapSettled();
    } else {
      const layer = (zoom: number) => page.waitForResponse((r) => r.url().includes('/api/map/polygons.geojson') && r.url().includes(`zoom=${zoom}`), { timeout: 60_000 });
      const answer = layer(11);
      const before = layerUrls.length;
      await jump(11);
      expect((await (await answer).json()).truncated).toBe(true);
      // The page asks for a box half a view wider on each side; the cap cut it (in code order, not
      // by distance to the view), so the view alone is asked for next.
      const width = (u: URL) => { const [w, , e] = u.searchParams.get('bbox')!.split(',').map(Number); return e - w; };
      await expect.poll(() => layerUrls.length - before, { timeout: 60_000 }).toBe(2);
      const [padded, view] = layerUrls.slice(before);
      expect(view.searchParams.get('zoom')).toBe('11');
      expect(width(padded) / width(view)).toBeCloseTo(2, 3);
    }
    await expect.poll(() => page.locator('#map-note').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.locator('#map-note').innerText()).toContain('地图只显示了其中一部分');
    await page.screenshot({ path: 'out/test-artifacts/page-city-month-cap.png' });
    await jump(15);
    await mapSettled();
    await expect.poll(() => page.locator('#map-note').isHidden(), { timeout: 30_000 }).toBe(true);
  });

  it('below z12 reads the centroids alone, and its dots follow the inbox\'s priority filter', async () => {
    type Map = { jumpTo(o: object): void; querySourceFeatures(s: string): unknown[]; queryRenderedFeatures(o: object): { properties: { priority: string } }[] };
    const jump = (zoom: number) => page.evaluate((z) => (window as unknown as { tuban: { map: Map } }).tuban.map.jumpTo({ center: [117.25, 36.117], zoom: z }), zoom);
    if (db.kind === 'postgres') {
      await jump(11);
    } else {
      const answer = page.waitForResponse((r) => r.url().includes('/api/map/polygons.geojson') && r.url().includes('zoom=11'), { timeout: 60_000 });
      await jump(11);
      const fc = await (await answer).json();
      // What the page draws at z11: points with the style's properties, about half the outlines' bytes.
      expect(fc.centroids).toBe(true);
      expect(fc.features[0].geometry.type).toBe('Point');
      expect(Object.keys(fc.features[0].properties).sort()).toEqual(['code', 'overdue', 'priority', 'status']);
      // Polled: a padded box the cap cut is asked again for the view alone (map-source.js), and the
      // z15 outlines stay until that second answer is in.
      await expect.poll(() => page.evaluate(() => (window as unknown as { tuban: { map: Map } }).tuban.map.querySourceFeatures('polygons').length), { timeout: 30_000 }).toBe(0);
      await expect.poll(() => page.evaluate(() => (window as unknown as { tuban: { map: Map } }).tuban.map.querySourceFeatures('centroids').length), { timeout: 30_000 }).toBeGreaterThan(1000);
    }
    // 优先级 高: the dots shown are the high-priority ones (a dot without the property would vanish).
    await page.selectOption('#f-priority', 'high');
    const dots = () => page.evaluate(() => (window as unknown as { tuban: { map: Map } }).tuban.map.queryRenderedFeatures({ layers: ['poly-dot'] }).map((f) => f.properties.priority));
    // (The filter applies once the inbox's filtered list is in: wait for the map to show only 高.)
    await expect.poll(async () => { const d = await dots(); return [d.length > 100, [...new Set(d)]]; }, { timeout: 30_000 }).toEqual([true, ['high']]);
    await page.selectOption('#f-priority', '');
  });

  it('asked nothing of the internet and logged no error', () => {
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
