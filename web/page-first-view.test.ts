/**
 * A bureau's first view after sign-in (stop 40): the inbox does not wait for the map. The month list
 * is asked beside the imagery's months (not after them), the list is in the page before MapLibre is
 * even made (it held the browser's main thread and, through its imagery tiles, the server, while the
 * list waited), and the map that follows still shows what the inbox's filters list, a filter chosen
 * before the map was ready included. Order, not time, is asserted: each check holds an answer back
 * until the thing that must come first has happened (or a generous wait has passed in vain).
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

const code = (n: number) => `370102-202610-000${n}`;
/** How long a held answer waits for what should come before it: far beyond any real ordering. */
const HOLD_MS = 10_000;

/** A promise and the function that settles it. */
function signal(): { done: Promise<void>; fire: () => void } {
  let fire = () => {};
  const done = new Promise<void>((resolve) => (fire = resolve));
  return { done, fire };
}

/** True once `p` settles within `ms`, false when the wait ran out first. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe.skipIf(!haveBrowser)("a bureau's first view", () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  /** Whether /api/months was asked while the imagery's months were still held back. */
  let monthsAskedMeanwhile: boolean | undefined;
  /** Whether the inbox's status filter had been chosen when the map's layer answer was let through. */
  let filterChosenFirst: boolean | undefined;
  const monthsAsked = signal();
  const filterChosen = signal();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-first-view-page-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [
      polygon(code(1), '2026-10', square(117.05, 36.65)),
      polygon(code(2), '2026-10', square(117.06, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
      polygon(code(3), '2026-10', square(117.07, 36.65), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
    ], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'first-view-page-secret-first-view-01', now: new Date('2026-10-30T02:00:00Z') }));
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/months') monthsAsked.fire();
    });
    // The imagery's months are answered only once the month list has been asked (or the wait ran out).
    await page.route('**/api/imagery/epochs', async (route) => {
      monthsAskedMeanwhile = await within(monthsAsked.done, HOLD_MS);
      await route.continue();
    });
    // The map's polygon layer is answered only once a status filter has been chosen: the map is then
    // ready after the filter was set, and must still apply it.
    await page.route('**/api/map/layer*', async (route) => {
      filterChosenFirst = await within(filterChosen.done, HOLD_MS);
      await route.continue();
    });
    // In the page: whether the map's canvas existed when the inbox's first item came in.
    await page.addInitScript(() => {
      const seen = new MutationObserver(() => {
        if (!document.querySelector('#inbox-list button.item')) return;
        (window as unknown as { mapBeforeList: boolean }).mapBeforeList = document.querySelector('#map canvas') !== null;
        seen.disconnect();
      });
      seen.observe(document, { subtree: true, childList: true });
    });
    await openSignedIn(page, base, '/?epoch=2026-10', 'nr', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks for the month list beside the imagery months, not after their answer', () => {
    expect(monthsAskedMeanwhile).toBe(true);
  });

  it('lists the inbox before the map is made', async () => {
    expect(await page.$$eval('#inbox-list button.item', (b) => b.map((e) => (e as HTMLElement).dataset.code))).toHaveLength(3);
    expect(await page.evaluate(() => (window as unknown as { mapBeforeList?: boolean }).mapBeforeList)).toBe(false);
    await page.waitForSelector('#map canvas', { state: 'attached', timeout: 60_000 });
  });

  it('a status filter chosen before the map is ready is applied to the map once it is', async () => {
    expect(await page.evaluate(() => (window as unknown as { tuban: { mapReady: boolean } }).tuban.mapReady)).toBe(false);
    await page.selectOption('#f-status', 'issued');
    await page.waitForFunction(() => document.querySelector('#inbox-list')?.getAttribute('aria-busy') !== 'true');
    filterChosen.fire();
    await page.waitForFunction(() => (window as unknown as { tuban: { mapReady: boolean } }).tuban.mapReady, null, { timeout: 60_000 });
    expect(filterChosenFirst).toBe(true);
    const filter = await page.evaluate(() => (window as unknown as { tuban: { map: { getFilter(id: string): unknown } } }).tuban.map.getFilter('poly-fill'));
    expect(JSON.stringify(filter)).toContain('["==",["get","status"],"issued"]');
  });

  it('no console errors', () => {
    // 404s: the fixtures' polygons have no imagery chips.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});

/**
 * A card opened before the map is ready (a `?case=` link; a draft's card after an expired session; an
 * inbox item clicked in the map's first second): once ready, the map shows it as if opened after, at
 * its polygon, highlighted, with its parcels and photos. The map's polygon layer is held back until
 * the card is in, so the card surely comes first.
 */
describe.skipIf(!haveBrowser)('a card opened before the map is ready', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const cardShown = signal();
  let cardFirst: boolean | undefined;
  /** The halves of code(2)'s square (square(117.3, 36.9)). */
  const half = (lon: number) => ({ type: 'Polygon', coordinates: [[[lon, 36.9], [lon + 0.0005, 36.9], [lon + 0.0005, 36.901], [lon, 36.901], [lon, 36.9]]] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-first-view-case-page-'));
    db = await openTestDatabase();
    // Far apart: the map's default view (the month's bounds) is not the card's.
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon(code(1), '2026-10', square(117.05, 36.65)), polygon(code(2), '2026-10', square(117.3, 36.9))], '2026-10-28');
    await addUsers(db, [['nr', 'bureau', 'natural_resources']]);
    ({ app, base, browser, page } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'first-view-page-secret-first-view-01', now: new Date('2026-10-30T02:00:00Z') }));
    const token = (await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'nr', password: PASSWORD } })).json().token;
    const headers = { authorization: `Bearer ${token}` };
    // Split in two, with a field photo: the card's parcels and photo dot are drawn over the map.
    expect((await app.inject({ method: 'POST', url: `/api/polygons/${code(2)}/accept`, payload: {}, headers })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/api/polygons/${code(2)}/split`, payload: { parcels: [half(117.3), half(117.3005)] }, headers })).statusCode).toBe(200);
    const photo = jpegWithExif({ taken: '2026:10:29 10:00:00', lat: 36.9005, lon: 117.3005, azimuth: 90 });
    const up = await app.inject({ method: 'POST', url: `/api/polygons/${code(2)}/evidence?name=a.jpg`, headers: { ...headers, 'content-type': 'image/jpeg' }, payload: photo });
    expect(up.statusCode, up.body).toBe(200);
    await page.route('**/api/map/layer*', async (route) => {
      cardFirst = await within(cardShown.done, HOLD_MS);
      await route.continue();
    });
    await openSignedIn(page, base, `/?epoch=2026-10&case=${code(2)}`, 'nr', consoleErrors);
    await page.waitForSelector('#card-back', { timeout: 120_000 });
    cardShown.fire();
    await page.waitForFunction(() => (window as unknown as { tuban: { mapReady: boolean } }).tuban.mapReady, null, { timeout: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  type Tuban = { selected: string | null; map: { getCenter(): { lng: number; lat: number }; getZoom(): number; isMoving(): boolean; getSource(id: string): { serialize(): { data: { features: unknown[] } } } } };

  it('selects the card and fits the map to its polygon', async () => {
    expect(cardFirst).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { tuban: Tuban }).tuban.selected)).toBe(code(2));
    // Where the fit ends (a jump, not a flight: web/page-case-link.test.ts).
    await page.waitForFunction(() => !(window as unknown as { tuban: Tuban }).tuban.map.isMoving());
    const view = await page.evaluate(() => {
      const m = (window as unknown as { tuban: Tuban }).tuban.map;
      return { ...m.getCenter(), zoom: m.getZoom() };
    });
    expect(view.lng).toBeCloseTo(117.3005, 3);
    expect(view.lat).toBeCloseTo(36.9005, 3);
    expect(view.zoom).toBeGreaterThan(14);
  });

  it("draws the card's parcels and photo over the map", async () => {
    const count = (id: string) => page.evaluate((s) => (window as unknown as { tuban: Tuban }).tuban.map.getSource(s).serialize().data.features.length, id);
    expect(await count('parcels')).toBe(2);
    // The photo's dot and its viewing direction.
    expect(await count('photos')).toBe(2);
  });

  it('no console errors', () => {
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
