/**
 * A click on the map's polygons (Debian's /usr/bin/chromium through playwright-core, as
 * web/page.test.ts). At the month's zoom a small polygon is drawn twice, its fill and the dot at its
 * centroid: a click where both lie opens its card once (one request, one fit), not once per layer, and
 * the pointer shows over either. A clue reported as a point, which has no outline, is drawn as a marker
 * where its card opens (z15), and a click on it opens it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

/** Far apart (tens of km): the month's view is zoomed out below the dots' z13. */
const NEAR = '370102-202610-0001'; // square(117.05, 36.65)
const FAR = '370102-202610-0002'; // square(117.3, 36.9)
/** The centre of square(lon, lat) (0.001°). */
const centre = (lon: number, lat: number) => ({ lng: lon + 0.0005, lat: lat + 0.0005 });

type Win = {
  tuban: {
    mapReady: boolean;
    map: {
      isMoving(): boolean;
      loaded(): boolean;
      getZoom(): number;
      getCanvas(): HTMLCanvasElement;
      on(ev: string, fn: () => void): void;
      project(p: [number, number]): { x: number; y: number };
      queryRenderedFeatures(p: [number, number], o: object): { properties: { code: string } }[];
    } | null;
  };
  moveEnds: number;
};

describe.skipIf(!haveBrowser)('a click on the map', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-map-click-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(NEAR, '2026-10', square(117.05, 36.65)), polygon(FAR, '2026-10', square(117.3, 36.9))], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'map-click-page-secret-map-click-0001', now: new Date('2026-11-03T02:00:00Z') }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Points (in the map's pixels) on the NEAR polygon's dot: one where its fill lies too, one on the dot's rim clear of the fill. */
  async function dotPoints(): Promise<Record<'both' | 'rim', { x: number; y: number }>> {
    const at = await page.waitForFunction(
      ({ code, lngLat }) => {
        const map = (window as unknown as Win).tuban.map!;
        const c = map.project([lngLat.lng, lngLat.lat]);
        const on = (layer: string, x: number, y: number) => map.queryRenderedFeatures([x, y], { layers: [layer] }).some((f) => f.properties.code === code);
        const clearOfFill = (x: number, y: number) => [-1, 0, 1].every((a) => [-1, 0, 1].every((b) => !on('poly-fill', x + a, y + b)));
        const both = [[0, 0], [1, 0], [0, 1], [1, 1], [-1, 0], [0, -1]].find(([dx, dy]) => on('poly-dot', c.x + dx, c.y + dy) && on('poly-fill', c.x + dx, c.y + dy));
        const rim = [[4, 0], [-4, 0], [0, 4], [0, -4], [3, 3], [-3, -3]].find(([dx, dy]) => on('poly-dot', c.x + dx, c.y + dy) && clearOfFill(c.x + dx, c.y + dy));
        return both && rim ? { both: { x: c.x + both[0], y: c.y + both[1] }, rim: { x: c.x + rim[0], y: c.y + rim[1] } } : false;
      },
      { code: NEAR, lngLat: centre(117.05, 36.65) },
      { timeout: 60_000 },
    );
    const box = (await page.locator('#map').boundingBox())!;
    const { both, rim } = (await at.jsonValue()) as Record<'both' | 'rim', { x: number; y: number }>;
    return { both: { x: box.x + both.x, y: box.y + both.y }, rim: { x: box.x + rim.x, y: box.y + rim.y } };
  }

  it("the pointer shows over a small polygon's dot as over its fill, and not off them", async () => {
    await openSignedIn(page, base, '/?epoch=2026-10', 'nr', consoleErrors);
    await page.waitForFunction(() => (window as unknown as Win).tuban.mapReady, null, { timeout: 120_000 });
    await page.waitForFunction(() => !(window as unknown as Win).tuban.map!.isMoving() && (window as unknown as Win).tuban.map!.loaded(), null, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as Win).tuban.map!.getZoom())).toBeLessThan(13);
    const { both, rim } = await dotPoints();
    const box = (await page.locator('#map').boundingBox())!;
    const cursor = () => page.evaluate(() => (window as unknown as Win).tuban.map!.getCanvas().style.cursor);
    await page.mouse.move(both.x, both.y);
    expect(await cursor()).toBe('pointer');
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    expect(await cursor()).toBe('');
    await page.mouse.move(rim.x, rim.y);
    expect(await cursor()).toBe('pointer');
    await page.mouse.move(box.x + 20, box.y + box.height / 2);
    expect(await cursor()).toBe('');
  });

  it("a click where a small polygon's dot and fill overlap opens its card once, fitted to once", async () => {
    const cardAsked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/polygons/${NEAR}`) cardAsked.push(r.url());
    });
    await page.evaluate(() => {
      const w = window as unknown as Win;
      w.moveEnds = 0;
      w.tuban.map!.on('moveend', () => w.moveEnds++);
    });
    const { both } = await dotPoints();
    await page.mouse.click(both.x, both.y);
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && document.querySelector('#card-body .facts') !== null, NEAR, { timeout: 60_000 });
    await page.waitForFunction(() => (window as unknown as Win).moveEnds > 0, null, { timeout: 30_000 });
    // Time for a second request and fit, were there one.
    await page.waitForTimeout(1500);
    await page.waitForFunction(() => !(window as unknown as Win).tuban.map!.isMoving(), null, { timeout: 30_000 });
    expect(cardAsked).toHaveLength(1);
    expect(await page.evaluate(() => (window as unknown as Win).moveEnds)).toBe(1);
    expect(await page.evaluate(() => location.search)).toBe(`?epoch=2026-10&case=${NEAR}`);
  });

  it('a clue reported as a point is drawn on the map where its card opens (z15), not only as a dot below z13', async () => {
    // Filed by the bureau itself, at a place between the two polygons (nothing else drawn there).
    const filed = await page.evaluate(async () => {
      const r = await fetch('/api/clues', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: 'patrol', district_code: '370102', geometry: { type: 'Point', coordinates: [117.15, 36.75] }, description: '巡查发现新建彩钢棚', reported_on: '2026-10-30' }),
      });
      return { status: r.status, body: await r.json() };
    });
    expect(filed.status).toBe(201);
    const clue = filed.body.code as string;
    await page.goto(`${base}/?epoch=2026-10&case=${clue}`);
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && document.querySelector('#card-body .facts') !== null, clue, { timeout: 60_000 });
    await page.waitForFunction(() => {
      const map = (window as unknown as Win).tuban.map;
      return (window as unknown as Win).tuban.mapReady && !map!.isMoving() && map!.loaded() && map!.getZoom() >= 13;
    }, null, { timeout: 60_000 });
    await page.waitForTimeout(500);
    // It has no outline, so no area: not a site of 0 m².
    expect(await page.textContent('#card-area')).toBe('点位线索，未画范围');
    // The open clue's marker, haloed in the selection's cyan (#22d3ee) at the point's place on the map.
    const at = await page.evaluate(() => (window as unknown as Win).tuban.map!.project([117.15, 36.75]));
    const { data, info } = await sharp(await page.locator('#map').screenshot()).raw().toBuffer({ resolveWithObject: true });
    let cyan = 0;
    for (let y = Math.max(0, Math.round(at.y) - 15); y < Math.min(info.height, Math.round(at.y) + 15); y++) {
      for (let x = Math.max(0, Math.round(at.x) - 15); x < Math.min(info.width, Math.round(at.x) + 15); x++) {
        const i = (y * info.width + x) * info.channels;
        if (Math.abs(data[i] - 0x22) < 40 && Math.abs(data[i + 1] - 0xd3) < 40 && Math.abs(data[i + 2] - 0xee) < 40) cyan++;
      }
    }
    expect(cyan).toBeGreaterThan(20);
    // And a click on it opens its card (from the list, after going back).
    await page.click('#card-back');
    expect(await page.textContent(`#inbox-list button.item[data-code="${clue}"] .meta`)).toContain('巡查发现 · 点位');
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.waitForFunction((code) => new URLSearchParams(location.search).get('case') === code, clue, { timeout: 30_000 });
  });

  it('no console errors', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
