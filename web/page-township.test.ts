/**
 * A 乡镇/街道's own account in Chromium (as web/page.test.ts: Debian's /usr/bin/chromium through
 * playwright-core, the app `tuban serve` runs, nothing leaving 127.0.0.1): 王家镇's account signs in,
 * the header names its township (by the layer's name, right after sign-in), the inbox holds its
 * township's polygons only, and — the batch having stored the township outlines — 登记线索 is
 * offered with its township's district, registers a clue clicked in its township (which it then
 * sees) and refuses one clicked in the next township, in Chinese, writing nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDistricts, storeTownships } from '../pipeline/store/districts.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

type MapLike = { project(l: [number, number]): { x: number; y: number }; jumpTo(o: object): void; loaded(): boolean; isMoving(): boolean };
type Tuban = { mapReady: boolean; map: MapLike };

const A = '370102001';
const B = '370102002';
/** Township A's: the township co-handles one, leads the other (乡村规划区). */
const OWN = ['370102-202610-0001', '370102-202610-0002'];
const THEIRS = '370102-202610-0003';

describe.skipIf(!haveBrowser)("a township's own account in Chromium", () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-township-page-'));
    db = await openTestDatabase();
    const inA = { townshipCode: A, townshipName: '王家镇' };
    await writeBatch(db, 'b-2026-10', '2026-10', [
      polygon(OWN[0], '2026-10', square(117.05, 36.65), { ...inA, coBureaus: ['township'] }),
      polygon(OWN[1], '2026-10', square(117.052, 36.65), { ...inA, leadBureau: 'township', routingReason: '乡、村庄规划区；属地: 王家镇' }),
      polygon(THEIRS, '2026-10', square(117.15, 36.65), { townshipCode: B, townshipName: '李庄街道', coBureaus: ['township'] }),
    ], '2026-10-28');
    // The outlines the batch stored with them: 王家镇 west of 117.1°E, 李庄街道 east of it, one district.
    await storeDistricts(db, { batchId: 'b-2026-10', epoch: '2026-10' }, [{ code: '370102', name: '历下区', geometry: square(117.0, 36.6, 0.2) }]);
    await storeTownships(db, { batchId: 'b-2026-10', epoch: '2026-10' }, [
      { code: A, name: '王家镇', geometry: square(117.0, 36.6, 0.1) },
      { code: B, name: '李庄街道', geometry: square(117.1, 36.6, 0.1) },
    ]);
    await addUsers(db, [['townA', 'bureau', 'township', A]]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'township-page-secret-township-page-01', now: new Date('2026-11-03T02:00:00Z') }));
    await openSignedIn(page, base, '/?epoch=2026-10#map=14/36.655/117.1', 'townA', consoleErrors);
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
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.click(box.x + p.x, box.y + p.y);
  }

  const inbox = () => page.$$eval('#inbox-list button.item', (bs) => bs.map((b) => (b as HTMLElement).dataset.code!).sort());
  const clues = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clues')).rows[0].n;

  async function fillClue(at: [number, number], description: string): Promise<void> {
    await page.click('#tab-clue');
    await page.selectOption('#clue-source', 'patrol');
    await page.click('#clue-point');
    await clickMap(at);
    await expect.poll(() => page.textContent('#clue-where')).toContain('°N');
    await page.fill('#clue-description', description);
    await page.fill('#clue-date', '2026-11-02');
  }

  it('names its township in the header and lists its own township’s polygons only', async () => {
    await expect.poll(() => page.textContent('#who')).toContain('王家镇');
    // The account's bureau says what it is; the role 部门 said nothing more.
    expect(await page.textContent('#who')).toBe('townA · 乡镇街道 · 王家镇');
    expect(await inbox()).toEqual(OWN);
  });

  it('after sign-in, the keyboard starts on the inbox’s first polygon', async () => {
    const first = await page.$eval('#inbox-list button.item', (b) => (b as HTMLElement).dataset.code);
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset?.code ?? document.activeElement?.id)).toBe(first);
    // J moves on from it at once, no click first.
    await page.keyboard.press('j');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.code)).toBe(OWN.find((c) => c !== first));
  });

  it('registers a clue clicked in its township, and then sees it', async () => {
    expect(await page.isHidden('#tab-clue')).toBe(false);
    await mapIdle();
    await fillClue([117.06, 36.66], '巡查发现村东新建彩钢棚');
    // Its township's district only.
    expect(await page.$$eval('#clue-district option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['370102']);
    await page.click('#clue-submit');
    await expect.poll(() => page.textContent('#card-code'), { timeout: 30_000 }).toMatch(/^370102-202611-X\d{4}$/);
    const code = (await page.textContent('#card-code'))!;
    await expect.poll(() => page.textContent('#card-body')).toContain('巡查发现村东新建彩钢棚');
    expect(await page.textContent('#card-township')).toContain('王家镇');
    const row = (await db.query('SELECT township_code, lead_bureau FROM clues WHERE code = $1', [code])).rows[0];
    expect(row).toEqual({ township_code: A, lead_bureau: 'township' });
    // The page went to the clue's month; its inbox holds it.
    await page.click('#card-back');
    await page.click('#tab-inbox');
    expect(await page.inputValue('#epoch')).toBe('2026-11');
    await expect.poll(inbox).toEqual([code]);
  });

  it('refuses a clue clicked in the next township, saying where it lies; nothing is written', async () => {
    const before = await clues();
    await fillClue([117.15, 36.66], '巡查发现');
    const refusedBefore = consoleErrors.length;
    await page.click('#clue-submit');
    await expect.poll(() => page.textContent('#toast')).toContain('线索位置不在本乡镇/街道（王家镇）内，位于李庄街道');
    // The refusal's 400 is the browser's own console line, expected here.
    await expect.poll(() => consoleErrors.length).toBe(refusedBefore + 1);
    expect(consoleErrors.splice(refusedBefore)).toEqual([expect.stringContaining('400')]);
    expect(await clues()).toBe(before);
  });

  it('asked nothing of the internet and logged no other error', () => {
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
