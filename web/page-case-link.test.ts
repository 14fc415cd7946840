/**
 * The first view of a `?case=` link, while the map is still being made (Debian's /usr/bin/chromium
 * through playwright-core, as web/page.test.ts). Each race is made certain by holding a server answer
 * back until what must happen first has happened (or a generous wait has passed in vain):
 *  - a card in before the map is ready: the map goes straight to it, no fit animated from the month's
 *    whole view, whose polygon requests were wasted (the later ones won);
 *  - a card still loading when the map is ready (the link's own, or another opened from the link's
 *    card): the map's selection is that card, not the one shown nor none, and the map goes straight to
 *    it once it is in;
 *  - another month picked while the first inbox is still loading: the link's card is dropped, not
 *    opened afterwards over the month the user chose;
 *  - a card opened by the user, or another tab chosen, while the counts and the overdue list load:
 *    the link's card is dropped, not opened over the user's choice;
 *  - a full code typed into 编号 (Enter) while the page's first answers load: the link's card is
 *    dropped, as for any card the user opens;
 *  - the link's card closed before the map is ready: the map opens on the month's view (a `#map=`
 *    link's, rotated and tilted as it was), not on it; so too when another card opened from it failed;
 *  - the link's card failed to load before the map was ready: opened again from the map once it
 *    is, it is flown to like any card opened on a ready map, not jumped to.
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

/** Far apart (tens of km): the map's view says which one it shows, and the month's view is none of them. */
const OCT_NEAR = '370102-202610-0001'; // square(117.05, 36.65)
const OCT_FAR = '370102-202610-0002'; // square(117.3, 36.9), continuing SEP's site
const SEP = '370102-202609-0001'; // square(117.5, 36.5)
const NOV = '370102-202611-0001';
/** The centre of square(lon, lat) (0.001°). */
const centre = (lon: number, lat: number) => ({ lng: lon + 0.0005, lat: lat + 0.0005 });
/** How long a held answer waits for what should come before it: far beyond any real ordering. */
const HOLD_MS = 10_000;
/** The card's fit zooms to 15 at most; the month's whole view is around 10. Anything below 14 is not the card's view. */
const CARD_ZOOM = 14;

/** A promise and the function that settles it. */
function signal(): { done: Promise<void>; fire: () => void } {
  let fire = () => {};
  const done = new Promise<void>((resolve) => (fire = resolve));
  return { done, fire };
}

/** True once `p` settles within `ms`, false when the wait ran out first. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

/** The zoom a polygon-layer request asks for: a vector tile's z, or the GeoJSON layer's `zoom`; null for anything else. */
function polygonRequestZoom(r: Request): number | null {
  const u = new URL(r.url());
  const tile = /^\/api\/map\/tiles\/(\d+)\//.exec(u.pathname);
  if (tile) return Number(tile[1]);
  if (u.pathname === '/api/map/polygons.geojson') return Number(u.searchParams.get('zoom'));
  return null;
}

type Tuban = {
  selected: string | null;
  openCode: string | null;
  mapReady: boolean;
  map: {
    getCenter(): { lng: number; lat: number };
    getZoom(): number;
    isMoving(): boolean;
    on(ev: string, fn: () => void): void;
  } | null;
};
type Win = { tuban: Tuban; moves: { moves: number; lng: number; lat: number; zoom: number }[] };

/** Record each of the map's movements once it is made: how many frames ('move' events) it took and where it ended. */
async function recordMoves(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as Win).tuban.map !== null, null, { timeout: 60_000 });
  await page.evaluate(() => {
    const w = window as unknown as Win;
    const map = w.tuban.map!;
    w.moves = [];
    let n = 0;
    map.on('movestart', () => (n = 0));
    map.on('move', () => n++);
    map.on('moveend', () => w.moves.push({ moves: n, ...map.getCenter(), zoom: map.getZoom() }));
  });
}

const mapReady = (page: Page) => page.waitForFunction(() => (window as unknown as Win).tuban.mapReady, null, { timeout: 60_000 });
const settled = (page: Page) => page.waitForFunction(() => !(window as unknown as Win).tuban.map!.isMoving(), null, { timeout: 30_000 });
const view = (page: Page) =>
  page.evaluate(() => {
    const m = (window as unknown as Win).tuban.map!;
    return { ...m.getCenter(), zoom: m.getZoom() };
  });

describe.skipIf(!haveBrowser)('the first view of a ?case= link', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  const pages: Page[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-case-link-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-09', '2026-09', [polygon(SEP, '2026-09', square(117.5, 36.5))], '2026-09-28');
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(OCT_NEAR, '2026-10', square(117.05, 36.65)), polygon(OCT_FAR, '2026-10', square(117.3, 36.9), { previousCode: SEP })], '2026-10-28');
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon(NOV, '2026-11', square(117.1, 36.7))], '2026-11-02');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    let page: Page;
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'case-link-page-secret-case-link-01', now: new Date('2026-11-03T02:00:00Z') }));
    await page.close();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh page (its own session) at 1400 × 900. */
  async function freshPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    pages.push(page);
    return page;
  }

  it('a card in before the map is ready: the map goes straight to it, asking nothing of the month view', async () => {
    const page = await freshPage();
    const cardShown = signal();
    const zooms: number[] = [];
    page.on('request', (r) => {
      const z = polygonRequestZoom(r);
      if (z !== null) zooms.push(z);
    });
    // The map's polygon layer is held until the card is in: the card surely comes first.
    await page.route('**/api/map/layer*', async (route) => {
      await within(cardShown.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    // The card drawn (its facts), not only its view shown: it is surely in before the map is ready.
    await page.waitForSelector('#card-body .facts', { timeout: 120_000 });
    await recordMoves(page);
    cardShown.fire();
    await mapReady(page);
    await settled(page);
    // The layer's first requests (vector tiles are asked at the next frame), and the map done with them.
    await expect.poll(() => zooms.length, { timeout: 30_000 }).toBeGreaterThan(0);
    await page.waitForFunction(() => (window as unknown as { tuban: { map: { loaded(): boolean } } }).tuban.map.loaded(), null, { timeout: 30_000 });
    // Every polygon request of the map is for the card's view, none for the month's.
    expect(zooms.filter((z) => z < CARD_ZOOM)).toEqual([]);
    // No movement of the map took more than one frame: nothing was animated.
    const moves = await page.evaluate(() => (window as unknown as Win).moves);
    expect(moves.filter((m) => m.moves > 1)).toEqual([]);
    const v = await view(page);
    expect(v.lng).toBeCloseTo(centre(117.3, 36.9).lng, 3);
    expect(v.lat).toBeCloseTo(centre(117.3, 36.9).lat, 3);
    expect(v.zoom).toBeGreaterThan(CARD_ZOOM);
  });

  it("the link's card still loading when the map is ready: selected then, and gone to straight once in", async () => {
    const page = await freshPage();
    const ready = signal();
    let heldUntilReady: boolean | undefined;
    await page.route(`**/api/polygons/${OCT_FAR}`, async (route) => {
      heldUntilReady = await within(ready.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await recordMoves(page);
    await mapReady(page);
    await settled(page);
    // The card being opened is the map's selection already (its polygon highlighted, kept whatever the filters).
    expect(await page.evaluate(() => (window as unknown as Win).tuban.selected)).toBe(OCT_FAR);
    const before = (await page.evaluate(() => (window as unknown as Win).moves)).length;
    ready.fire();
    await page.waitForSelector('#card-back', { timeout: 60_000 });
    expect(heldUntilReady).toBe(true);
    await page.waitForFunction((n) => (window as unknown as Win).moves.length > n, before, { timeout: 30_000 });
    await settled(page);
    const moves = (await page.evaluate(() => (window as unknown as Win).moves)).slice(before);
    // Straight to the card: one frame, not a flight from the month's view.
    expect(moves.map((m) => m.moves)).toEqual([1]);
    expect(moves[0].lng).toBeCloseTo(centre(117.3, 36.9).lng, 3);
    expect(moves[0].lat).toBeCloseTo(centre(117.3, 36.9).lat, 3);
  });

  it("another card opened from the link's card, still loading when the map is ready: the map follows it, not the card shown", async () => {
    const page = await freshPage();
    const mapLayerAsked = signal();
    const sepAsked = signal();
    const ready = signal();
    // The map is held back until the earlier month's card has been asked for (opened from the link's card) ...
    await page.route('**/api/map/layer*', async (route) => {
      mapLayerAsked.fire();
      await within(sepAsked.done, HOLD_MS);
      await route.continue();
    });
    // ... and that card until the map is ready.
    await page.route(`**/api/polygons/${SEP}`, async (route) => {
      sepAsked.fire();
      await within(ready.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await page.waitForSelector(`#card-body button[data-open="${SEP}"]`, { timeout: 120_000 });
    expect(await page.evaluate(() => (window as unknown as Win).tuban.mapReady)).toBe(false);
    await recordMoves(page);
    await page.click(`#card-body button[data-open="${SEP}"]`);
    await mapReady(page);
    await settled(page);
    expect(await within(mapLayerAsked.done, 0)).toBe(true);
    // The selection is the card being opened, not the link's card still shown.
    expect(await page.evaluate(() => [(window as unknown as Win).tuban.openCode, (window as unknown as Win).tuban.selected])).toEqual([SEP, SEP]);
    const before = (await page.evaluate(() => (window as unknown as Win).moves)).length;
    ready.fire();
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && document.querySelector('#card-body .facts') !== null, SEP, { timeout: 60_000 });
    await page.waitForFunction((n) => (window as unknown as Win).moves.length > n, before, { timeout: 30_000 });
    await settled(page);
    const moves = (await page.evaluate(() => (window as unknown as Win).moves)).slice(before);
    expect(moves.map((m) => m.moves)).toEqual([1]);
    expect(moves[0].lng).toBeCloseTo(centre(117.5, 36.5).lng, 3);
    expect(moves[0].lat).toBeCloseTo(centre(117.5, 36.5).lat, 3);
  });

  it("another month picked while the first inbox is loading: the link's card is not opened afterwards", async () => {
    const page = await freshPage();
    const picked = signal();
    const cardAsked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/polygons/${OCT_NEAR}`) cardAsked.push(r.url());
    });
    // The first inbox (October's list) is answered only once the user has picked November.
    let octoberListDone = false;
    await page.route((u) => u.pathname === '/api/polygons', async (route) => {
      const u = new URL(route.request().url());
      if (u.searchParams.get('epoch') === '2026-10' && u.searchParams.get('view') === 'list' && u.searchParams.get('overdue') !== 'true') {
        await within(picked.done, HOLD_MS);
        await route.continue();
        octoberListDone = true;
        return;
      }
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_NEAR}`, 'nr', consoleErrors);
    await page.waitForFunction(() => (document.querySelector('#epoch') as HTMLSelectElement | null)?.value === '2026-10' && document.querySelector('#epoch option[value="2026-11"]') !== null, null, { timeout: 120_000 });
    await page.selectOption('#epoch', '2026-11');
    picked.fire();
    await page.waitForSelector(`#inbox-list button.item[data-code="${NOV}"]`, { state: 'attached', timeout: 60_000 });
    await expect.poll(() => octoberListDone, { timeout: 30_000 }).toBe(true);
    // The first view's own tail (counts, overdue list) after the held list: then it would open the card.
    await page.waitForFunction(() => document.querySelector('#inbox-list')?.getAttribute('aria-busy') !== 'true');
    await page.waitForTimeout(1500);
    expect(cardAsked).toEqual([]);
    expect(await page.isHidden('#view-card')).toBe(true);
    expect(await page.evaluate(() => [(window as unknown as Win).tuban.openCode, location.search])).toEqual([null, '?epoch=2026-11']);
  });

  it("a card the user opens while the counts load: the link's card is not opened over it", async () => {
    const page = await freshPage();
    const opened = signal();
    const linkAsked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/polygons/${OCT_FAR}`) linkAsked.push(r.url());
    });
    // The counts (the first view's tail, after the inbox) are answered only once the user's card is open.
    let countsDone = false;
    await page.route('**/api/inbox/counts*', async (route) => {
      await within(opened.done, HOLD_MS);
      await route.continue();
      countsDone = true;
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await page.click(`#inbox-list button.item[data-code="${OCT_NEAR}"]`, { timeout: 120_000 });
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && document.querySelector('#card-body .facts') !== null, OCT_NEAR, { timeout: 60_000 });
    opened.fire();
    await expect.poll(() => countsDone, { timeout: 30_000 }).toBe(true);
    await page.waitForSelector('#counts .count', { state: 'attached', timeout: 30_000 });
    await page.waitForTimeout(1500);
    expect(linkAsked).toEqual([]);
    expect(await page.textContent('#card-code')).toBe(OCT_NEAR);
    expect(await page.evaluate(() => [(window as unknown as Win).tuban.openCode, location.search])).toEqual([OCT_NEAR, `?epoch=2026-10&case=${OCT_NEAR}`]);
  });

  it("another tab chosen while the counts load: the link's card is not opened over it", async () => {
    const page = await freshPage();
    const chosen = signal();
    const linkAsked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/polygons/${OCT_FAR}`) linkAsked.push(r.url());
    });
    // The counts (the first view's tail, after the inbox) are answered only once the user has chosen the overdue tab.
    let countsDone = false;
    await page.route('**/api/inbox/counts*', async (route) => {
      await within(chosen.done, HOLD_MS);
      await route.continue();
      countsDone = true;
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await page.waitForSelector(`#inbox-list button.item[data-code="${OCT_NEAR}"]`, { timeout: 120_000 });
    await page.click('#tab-overdue');
    chosen.fire();
    await expect.poll(() => countsDone, { timeout: 30_000 }).toBe(true);
    await page.waitForSelector('#counts .count', { state: 'attached', timeout: 30_000 });
    await page.waitForTimeout(1500);
    expect(linkAsked).toEqual([]);
    expect(await page.isHidden('#view-card')).toBe(true);
    expect(await page.isVisible('#view-overdue')).toBe(true);
    // Nor left in the URL, where a reload would open it.
    expect(await page.evaluate(() => [(window as unknown as Win).tuban.openCode, location.search])).toEqual([null, '?epoch=2026-10']);
  });

  it("the link's card closed before the map is ready: the map opens on the month's view", async () => {
    const page = await freshPage();
    const made = signal();
    const closed = signal();
    // The card waits until the map is made (its first view noted), the map's layer until the card is closed.
    await page.route(`**/api/polygons/${OCT_FAR}`, async (route) => {
      await within(made.done, HOLD_MS);
      await route.continue();
    });
    await page.route('**/api/map/layer*', async (route) => {
      await within(closed.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await page.waitForFunction(() => (window as unknown as Win).tuban.map !== null, null, { timeout: 120_000 });
    const month = await view(page);
    expect(month.zoom).toBeLessThan(CARD_ZOOM);
    made.fire();
    await page.waitForSelector('#card-body .facts', { timeout: 60_000 });
    // The camera is on the card already (its first imagery tiles are the card's) ...
    expect((await view(page)).zoom).toBeGreaterThan(CARD_ZOOM);
    await page.click('#card-back');
    expect(await page.evaluate(() => (window as unknown as Win).tuban.mapReady)).toBe(false);
    closed.fire();
    await mapReady(page);
    await settled(page);
    // ... and back on the month's once the card is closed.
    const v = await view(page);
    expect(v.lng).toBeCloseTo(month.lng, 5);
    expect(v.lat).toBeCloseTo(month.lat, 5);
    expect(v.zoom).toBeCloseTo(month.zoom, 5);
  });

  it("a full code typed into 编号 while the page's first answers load: the link's card is not opened over it", async () => {
    const page = await freshPage();
    const opened = signal();
    const linkAsked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === `/api/polygons/${OCT_FAR}`) linkAsked.push(r.url());
    });
    // The months' imagery (the page's first answer, before the link is read) waits for the user's card.
    await page.route('**/api/imagery/epochs', async (route) => {
      await within(opened.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', consoleErrors);
    await page.waitForSelector('#f-code', { state: 'visible', timeout: 120_000 });
    await page.fill('#f-code', OCT_NEAR);
    await page.press('#f-code', 'Enter');
    await page.waitForFunction((code) => document.querySelector('#card-code')?.textContent === code && document.querySelector('#card-body .facts') !== null, OCT_NEAR, { timeout: 60_000 });
    opened.fire();
    await page.waitForSelector('#counts .count', { state: 'attached', timeout: 60_000 });
    await page.waitForTimeout(1500);
    expect(linkAsked).toEqual([]);
    expect(await page.textContent('#card-code')).toBe(OCT_NEAR);
    expect(await page.evaluate(() => (window as unknown as Win).tuban.openCode)).toBe(OCT_NEAR);
  });

  it("the link's card closed before the map is ready: a rotated, tilted #map= view comes back rotated and tilted", async () => {
    const page = await freshPage();
    const made = signal();
    const closed = signal();
    await page.route(`**/api/polygons/${OCT_FAR}`, async (route) => {
      await within(made.done, HOLD_MS);
      await route.continue();
    });
    await page.route('**/api/map/layer*', async (route) => {
      await within(closed.done, HOLD_MS);
      await route.continue();
    });
    const camera = () =>
      page.evaluate(() => {
        const m = (window as unknown as { tuban: { map: { getCenter(): { lng: number; lat: number }; getZoom(): number; getBearing(): number; getPitch(): number } } }).tuban.map;
        return { ...m.getCenter(), zoom: m.getZoom(), bearing: m.getBearing(), pitch: m.getPitch() };
      });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}#map=11/36.75/117.2/30/40`, 'nr', consoleErrors);
    await page.waitForFunction(() => (window as unknown as Win).tuban.map !== null, null, { timeout: 120_000 });
    const linked = await camera();
    expect([linked.bearing, linked.pitch]).toEqual([30, 40]);
    made.fire();
    await page.waitForSelector('#card-body .facts', { timeout: 60_000 });
    await page.click('#card-back');
    expect(await page.evaluate(() => (window as unknown as Win).tuban.mapReady)).toBe(false);
    closed.fire();
    await mapReady(page);
    await settled(page);
    const v = await camera();
    expect(v.lng).toBeCloseTo(linked.lng, 5);
    expect(v.lat).toBeCloseTo(linked.lat, 5);
    expect(v.zoom).toBeCloseTo(linked.zoom, 5);
    expect(v.bearing).toBeCloseTo(30, 5);
    expect(v.pitch).toBeCloseTo(40, 5);
  });

  it("another card failed to load over the link's card, before the map is ready: the map opens on the month's view, not the link's card", async () => {
    const page = await freshPage();
    const made = signal();
    const failed = signal();
    const errors: string[] = [];
    // The link's card waits until the map is made (its first view noted), the map's layer until the other card failed.
    await page.route(`**/api/polygons/${OCT_FAR}`, async (route) => {
      await within(made.done, HOLD_MS);
      await route.continue();
    });
    await page.route(`**/api/polygons/${SEP}`, (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ code: 'SERVER.BUSY', message: '服务器繁忙' }) }),
    );
    await page.route('**/api/map/layer*', async (route) => {
      await within(failed.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_FAR}`, 'nr', errors);
    await page.waitForFunction(() => (window as unknown as Win).tuban.map !== null, null, { timeout: 120_000 });
    const month = await view(page);
    made.fire();
    await page.waitForSelector(`#card-body button[data-open="${SEP}"]`, { timeout: 60_000 });
    expect((await view(page)).zoom).toBeGreaterThan(CARD_ZOOM);
    await page.click(`#card-body button[data-open="${SEP}"]`);
    await page.waitForSelector('#card-body .error', { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as Win).tuban.mapReady)).toBe(false);
    failed.fire();
    await mapReady(page);
    await settled(page);
    expect(await page.textContent('#card-code')).toBe(SEP);
    const v = await view(page);
    expect(v.lng).toBeCloseTo(month.lng, 5);
    expect(v.lat).toBeCloseTo(month.lat, 5);
    expect(v.zoom).toBeCloseTo(month.zoom, 5);
    expect(errors.filter((e) => !/status of (404|503)/.test(e))).toEqual([]);
  });

  it("the link's card failed to load before the map was ready: opened again from the ready map, it is flown to", async () => {
    const page = await freshPage();
    const failed = signal();
    const errors: string[] = [];
    let asked = 0;
    // The card's first answer is a refusal (the server busy); the next one is the card.
    await page.route(`**/api/polygons/${OCT_NEAR}`, async (route) => {
      if (++asked > 1) return route.continue();
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ code: 'SERVER.BUSY', message: '服务器繁忙' }) });
    });
    // The map is held until the failure is on the page: the card surely failed before the map was ready.
    await page.route('**/api/map/layer*', async (route) => {
      await within(failed.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${OCT_NEAR}`, 'nr', errors);
    await page.waitForSelector('#card-body .error', { timeout: 120_000 });
    expect(await page.evaluate(() => (window as unknown as Win).tuban.mapReady)).toBe(false);
    failed.fire();
    await mapReady(page);
    await settled(page);
    await recordMoves(page);
    // Its dot on the map (the month's view), clicked on its rim, clear of the polygon's own fill (a few
    // pixels across): the dot alone (a click on both: web/page-map-click.test.ts).
    const at = await page.waitForFunction(
      ({ code, lngLat }) => {
        type Hit = { properties: { code: string } }[];
        const map = (window as unknown as { tuban: { map: { project(p: [number, number]): { x: number; y: number }; queryRenderedFeatures(p: [number, number], o: object): Hit } } }).tuban.map;
        const c = map.project([lngLat.lng, lngLat.lat]);
        const on = (layer: string, x: number, y: number) => map.queryRenderedFeatures([x, y], { layers: [layer] }).some((f) => f.properties.code === code);
        const clearOfFill = (x: number, y: number) => [-1, 0, 1].every((a) => [-1, 0, 1].every((b) => !on('poly-fill', x + a, y + b)));
        for (const [dx, dy] of [[4, 0], [-4, 0], [0, 4], [0, -4], [3, 3], [-3, -3]]) {
          if (on('poly-dot', c.x + dx, c.y + dy) && clearOfFill(c.x + dx, c.y + dy)) return { x: c.x + dx, y: c.y + dy };
        }
        return false;
      },
      { code: OCT_NEAR, lngLat: centre(117.05, 36.65) },
      { timeout: 60_000 },
    );
    const point = (await at.jsonValue()) as { x: number; y: number };
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + point.x, box.y + point.y);
    await page.waitForSelector('#card-body .facts', { timeout: 60_000 });
    await page.waitForFunction(() => (window as unknown as Win).moves.length > 0, null, { timeout: 30_000 });
    await settled(page);
    const moves = await page.evaluate(() => (window as unknown as Win).moves);
    // Flown, in more than one frame, to the card.
    expect(moves.map((m) => m.moves > 1)).toEqual([true]);
    expect(moves.at(-1)!.lng).toBeCloseTo(centre(117.05, 36.65).lng, 3);
    expect(moves.at(-1)!.lat).toBeCloseTo(centre(117.05, 36.65).lat, 3);
    expect(asked).toBe(2);
    expect(errors.filter((e) => !/status of (404|503)/.test(e))).toEqual([]);
  });

  it('no console errors', async () => {
    for (const p of pages) await p.close();
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
