/**
 * The browser tests' Chromium and the app they drive (web/page*.test.ts): Debian's /usr/bin/chromium
 * through playwright-core (never a downloaded browser), the app `tuban serve` runs on a loopback
 * port, and a page that may reach nothing else.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../pipeline/store/queryable.js';
import { buildServeApp } from '../serve-app.js';
import { loadCalendar } from '../deadlines/calendar.js';
import { DEFAULT_DEADLINES } from '../deadlines/rules.js';
import { PASSWORD } from './fixtures.js';

export const CHROMIUM = process.env.TUBAN_CHROMIUM ?? '/usr/bin/chromium';
/** Under CI a missing browser is a failure, not a skip (as for the database servers). */
export const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';
/**
 * No GPU on a server, so WebGL (which MapLibre needs) runs on SwiftShader through ANGLE;
 * `--disable-gpu` would turn WebGL off altogether, so it is not used.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'];

export interface ServedPage {
  app: FastifyInstance;
  /** The app's origin, http://127.0.0.1:<port>. */
  base: string;
  browser: Browser;
  page: Page;
  /** Every request the page made to anywhere else (aborted): a test expects none. */
  external: string[];
}

/**
 * `tuban serve`'s app over `db` with the default deadlines and the clock at `now`, listening on
 * loopback, and a page in Chromium: zh-CN at 1400 × 900, or the `locale` (the browser's language as
 * well, `--lang`) and `viewport` given.
 */
export async function servePage(db: Database, opts: { dataDir: string; secret: string; now: Date; locale?: string; viewport?: { width: number; height: number } }): Promise<ServedPage> {
  const served = await buildServeApp({
    db,
    dataDir: opts.dataDir,
    secret: Buffer.from(opts.secret),
    deadlines: { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() },
    webDir: 'web',
    logger: false,
    now: () => opts.now,
  });
  await served.warmed;
  const base = await served.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: opts.locale ? [...CHROMIUM_ARGS, `--lang=${opts.locale}`] : CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 }, locale: opts.locale ?? 'zh-CN' });
  const page = await context.newPage();
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  return { app: served.app, base, browser, page, external };
}

/** Collect the page's console errors into `errors`, open `path` and sign in as `name` (the fixtures' PASSWORD). */
export async function openSignedIn(page: Page, base: string, path: string, name: string, errors: string[]): Promise<void> {
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}${path}`);
  await page.fill('#login-name', name);
  await page.fill('#login-password', PASSWORD);
  await page.press('#login-password', 'Enter');
}
