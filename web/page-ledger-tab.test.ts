/**
 * The lead bureau's 台账与月报 tab as it is read every month, in Chromium (as web/page.test.ts:
 * Debian's /usr/bin/chromium through playwright-core, the app `tuban serve` runs, nothing leaving
 * 127.0.0.1), on the walkthrough's 1400 × 900 screen and a narrower 1024 × 768 one: every column
 * heading of the month summary reads across, on one or at most two lines (the by-bureau table's
 * status headings stood upright, one character a line: 已销号待审核 six lines tall); a table wider
 * than the panel scrolls sideways in its own box, the tab itself does not, and the bureau's name
 * stays in view while it scrolls; a long name (a city's 分局) wraps onto two lines there rather than
 * taking a third of the panel from the columns beside it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../pipeline/route/default-rules.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { haveBrowser, openSignedIn, servePage } from '../server/testing/browser.js';

/** A city's lead bureaus, long names included. */
const BUREAUS = ['forestry', 'natural_resources', 'agriculture', 'transport', 'water', 'ecology_environment', 'urban_management'];
/** natural_resources' name in the city's rule table: as long as a bureau's name gets. */
const LONG_NAME = '自然资源和规划局某某分局';
const SCREENS = [
  { width: 1400, height: 900 },
  { width: 1024, height: 768 },
];

/** One heading as drawn: its text's box and the line height it is set in. */
interface Heading {
  text: string;
  width: number;
  height: number;
  lineHeight: number;
}

describe.skipIf(!haveBrowser)("the lead bureau's 台账与月报 tab", () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  let external: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-ledger-tab-'));
    db = await openTestDatabase();
    const polys = BUREAUS.map((bureau, i) => polygon(`370102-202610-000${i + 1}`, '2026-10', square(117.0 + i * 0.002, 36.6), { leadBureau: bureau }));
    await writeBatch(db, 'b-2026-10', '2026-10', polys, '2026-10-28');
    const rules = join(dir, 'rules.json');
    await writeFile(rules, JSON.stringify({ ...DEFAULT_RULES, bureaus: { ...DEFAULT_RULES.bureaus, natural_resources: { name_zh: LONG_NAME } } }));
    await db.query(`UPDATE batches SET plan = jsonb_build_object('args', jsonb_build_object('rules', $1::text))`, [rules]);
    await addUsers(db, [['chief', 'lead']]);
    ({ app, base, browser, page, external } = await servePage(db, { dataDir: join(dir, 'data'), secret: 'ledger-tab-secret-ledger-tab-secret-01', now: new Date('2026-11-03T02:00:00Z') }));
    await openSignedIn(page, base, '/?epoch=2026-10', 'chief', consoleErrors);
    await page.waitForSelector('#inbox-list li', { timeout: 120_000 });
    await page.click('#tab-ledger');
    await page.locator('#summary-bureau-table tbody tr').nth(BUREAUS.length - 1).waitFor({ timeout: 30_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every heading of the summary's two tables, as drawn. */
  const headings = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('#summary thead th')].map((th) => {
        const range = document.createRange();
        range.selectNodeContents(th);
        const box = range.getBoundingClientRect();
        const style = getComputedStyle(th);
        // `normal` is about 1.2 em of the font (more for a CJK font's ascent and descent).
        const lineHeight = style.lineHeight === 'normal' ? parseFloat(style.fontSize) * 1.4 : parseFloat(style.lineHeight);
        return { text: th.textContent ?? '', width: box.width, height: box.height, lineHeight };
      }),
    );

  for (const screen of SCREENS) {
    it(`at ${screen.width} × ${screen.height} every heading reads across, on at most two lines`, async () => {
      await page.setViewportSize(screen);
      const hs: Heading[] = await headings();
      expect(hs.map((h) => h.text)).toContain('已销号待审核');
      const upright = hs.filter((h) => h.height > 2 * h.lineHeight || (h.text.length > 1 && h.width < h.height));
      expect(upright.map((h) => `${h.text}: ${Math.round(h.width)} × ${Math.round(h.height)} px`)).toEqual([]);
    });

    it(`at ${screen.width} × ${screen.height} a long bureau name wraps onto two lines, an eight-character one stays on one`, async () => {
      await page.setViewportSize(screen);
      const names = await page.evaluate(() =>
        [...document.querySelectorAll('#summary-bureau-table tbody th')].map((th) => {
          const range = document.createRange();
          range.selectNodeContents(th);
          const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          return { text: th.textContent ?? '', lines: lines.size, width: th.getBoundingClientRect().width, em: parseFloat(getComputedStyle(th).fontSize) };
        }),
      );
      const long = names.find((n) => n.text === LONG_NAME);
      const short = names.find((n) => n.text === '园林和林业绿化局');
      expect(long?.lines).toBe(2);
      expect(short?.lines).toBe(1);
      // The name column at most nine characters wide: the panel is left to the counts.
      expect(long!.width).toBeLessThanOrEqual(9 * long!.em);
    });

    it(`at ${screen.width} × ${screen.height} a wide table scrolls in its own box, the bureau's name in view`, async () => {
      await page.setViewportSize(screen);
      const fit = await page.evaluate(() => {
        const view = document.querySelector('#view-ledger')!;
        const table = document.querySelector('#summary-bureau-table')!;
        const box = table.parentElement!;
        box.scrollLeft = box.scrollWidth;
        const shown = box.getBoundingClientRect();
        const within = (el: Element) => {
          const r = el.getBoundingClientRect();
          return r.left >= shown.left - 0.5 && r.right <= shown.right + 0.5;
        };
        const last = [...table.querySelectorAll('thead tr:first-child th')].at(-1)!;
        return {
          viewOverflow: view.scrollWidth - view.clientWidth,
          scrolled: box.scrollLeft,
          lastColumnInView: within(last),
          namesInView: [...table.querySelectorAll('tbody th, tfoot th')].every(within),
        };
      });
      await page.evaluate(() => (document.querySelector('#summary-bureau-table')!.parentElement!.scrollLeft = 0));
      // The tab itself never scrolls sideways; the table's own box shows its last column and still its names.
      expect(fit.viewOverflow).toBeLessThanOrEqual(0);
      expect(fit.lastColumnInView).toBe(true);
      expect(fit.namesInView).toBe(true);
    });
  }

  it('asked nothing of the internet and logged no error but the missing chips’ 404', () => {
    expect(external).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
  });
});
