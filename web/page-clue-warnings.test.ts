/**
 * What the server warned when a clue was registered, on the page (as web/page.test.ts: Debian's
 * /usr/bin/chromium through playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1).
 * A district's account registers a clue in a village whose code is not under the township it lies in
 * (the layers disagree; the clue keeps both): the case opens as for any clue, and above it the page
 * says, in Chinese and as an alert, which code is not under which, until the user dismisses it. A
 * clue with nothing to warn of shows no notice.
 * 王家镇 lies west of 117.1°E, 李庄街道 east of it; 前进村 the north of 王家镇, 飞地村 (a code of another
 * township) the north of 李庄街道.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Polygon } from 'geojson';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDistricts, storeTownships, storeVillages } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

type MapLike = { project(l: [number, number]): { x: number; y: number }; jumpTo(o: object): void; loaded(): boolean; isMoving(): boolean };
type Tuban = { mapReady: boolean; map: MapLike };

const box = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });

describe.skipIf(!haveBrowser)("a clue's warnings in Chromium", () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-clue-warnings-'));
    db = await openTestDatabase();
    await writeBatch(db, 'b-2026-10', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117.05, 36.65))], '2026-10-28');
    const batch = { batchId: 'b-2026-10', epoch: '2026-10' };
    await storeDistricts(db, batch, [{ code: '370102', name: '历下区', geometry: square(117.0, 36.6, 0.2) }]);
    await storeTownships(db, batch, [
      { code: '370102001', name: '王家镇', geometry: square(117.0, 36.6, 0.1) },
      { code: '370102002000', name: '李庄街道', geometry: square(117.1, 36.6, 0.1) },
    ]);
    await storeVillages(db, batch, [
      { code: '370102001201', name: '前进村', geometry: box(117.0, 36.65, 117.1, 36.7) },
      { code: '370102009203', name: '飞地村', geometry: box(117.1, 36.65, 117.2, 36.7) },
    ]);
    await addUsers(db, [['d102', 'district', '370102']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'clue-warnings-secret-clue-warnings-01', now: new Date('2026-11-03T02:00:00Z') }));
    await openSignedIn(page, base, '/?epoch=2026-10#map=14/36.67/117.1', 'd102', consoleErrors);
    await page.waitForSelector('#inbox-list button.item', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function mapIdle(): Promise<void> {
    await page.waitForFunction(() => {
      const t = (window as unknown as { tuban: Tuban }).tuban;
      return t.mapReady && t.map.loaded() && !t.map.isMoving();
    }, undefined, { timeout: 60_000 });
  }

  async function clickMap(lngLat: [number, number]): Promise<void> {
    await page.evaluate((c) => (window as unknown as { tuban: Tuban }).tuban.map.jumpTo({ center: c, zoom: 15 }), lngLat);
    await mapIdle();
    const p = await page.evaluate((ll) => (window as unknown as { tuban: Tuban }).tuban.map.project(ll), lngLat);
    const b = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(b.x + p.x, b.y + p.y);
  }

  /** Register a clue clicked at `at`; the code of the card that opens. */
  async function registerClue(at: [number, number], description: string): Promise<string> {
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'patrol');
    await page.click('#clue-point');
    await clickMap(at);
    await expect.poll(() => page.textContent('#clue-where')).toContain('°N');
    await page.fill('#clue-description', description);
    await page.fill('#clue-date', '2026-11-02');
    await page.click('#clue-submit');
    // The case opens as for any clue.
    await expect.poll(() => page.textContent('#card-code'), { timeout: 30_000 }).toMatch(/^370102-202611-X\d{4}$/);
    await expect.poll(() => page.textContent('#card-body')).toContain(description);
    return (await page.textContent('#card-code'))!;
  }

  const notice = () => page.locator('#clue-notice');

  it('a clue with nothing to warn of opens its case with no notice', async () => {
    await mapIdle();
    await registerClue([117.05, 36.67], '前进村内新建彩钢棚');
    expect(await notice().isVisible()).toBe(false);
  });

  it("a clue in a village whose code is not under its township: the case opens, and the page says so in Chinese, as an alert, until dismissed", async () => {
    const code = await registerClue([117.15, 36.67], '飞地村内新建彩钢棚');
    await expect.poll(() => notice().isVisible()).toBe(true);
    expect(await notice().getAttribute('role')).toBe('alert');
    const text = (await notice().innerText()).replace(/\s+/g, ' ');
    expect(text).toContain(`已登记 ${code}；请注意：`);
    expect(text).toContain('村社区 飞地村（370102009203）的代码不以所在乡镇街道 李庄街道（370102002000）的代码开头');
    expect(text).toContain('请核对村社区和乡镇街道图层');
    await mkdir('out/test-artifacts', { recursive: true });
    await page.screenshot({ path: 'out/test-artifacts/page-clue-warnings.png' });
    // Not the English the log has.
    expect(text).not.toContain('does not begin');
    // The card is open beside it, and the notice stays while the user works on.
    expect(await page.isVisible('#view-card')).toBe(true);
    await page.click('#card-back');
    expect(await notice().isVisible()).toBe(true);
    await page.click('#clue-notice-close');
    expect(await notice().isVisible()).toBe(false);
  });

  it('asked nothing of the internet and logged no error', () => {
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
