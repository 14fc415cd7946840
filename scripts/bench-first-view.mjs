// A user's first view, timed in the browser (stop 40, BENCHMARKS.md): from the sign-in form's submit
// to the paint of the first inbox item, and (--map) to the map drawn, with the polygon layer in and no
// tile on its way. Times are the page's own clock (performance.now in the page): the submit event, the
// first item entering the DOM, then the task after the next frame. Playwright's waitForSelector is
// not the clock: it polls at up to 500 ms intervals.
//
//   node scripts/bench-first-view.mjs --base http://127.0.0.1:8080 --users chief,nr,wang [--runs 5] \
//     [--password 'a long pass phrase'] [--map] [--waterfall]
//
// Against a running `tuban serve` whose users exist (README: `tuban user add`). Each run is a fresh
// browser context (no cache, no session), the users taken in turn. Debian's /usr/bin/chromium
// (TUBAN_CHROMIUM) through playwright-core, WebGL on SwiftShader, as the page tests run it.
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string', default: 'http://127.0.0.1:8080' },
    users: { type: 'string', default: 'chief' },
    runs: { type: 'string', default: '5' },
    password: { type: 'string', default: 'a long pass phrase' },
    map: { type: 'boolean', default: false },
    waterfall: { type: 'boolean', default: false },
  },
});
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number ≥ 1, got '${opts.runs}'`);
const ARGS = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'];

/** In the page, before its scripts: the submit, the first inbox item and the paint after it, long tasks. */
function instrument() {
  window.__longTasks = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  const seen = new MutationObserver(() => {
    if (!document.querySelector('#inbox-list button.item')) return;
    window.__itemAt = performance.now();
    requestAnimationFrame(() => setTimeout(() => (window.__paintedAt = performance.now())));
    seen.disconnect();
  });
  seen.observe(document, { subtree: true, childList: true });
  document.addEventListener('submit', () => (window.__submitAt = performance.now()), true);
}

const browser = await chromium.launch({ executablePath: process.env.TUBAN_CHROMIUM ?? '/usr/bin/chromium', args: ARGS });
const listMs = {};
const mapMs = {};
try {
  for (let run = 0; run < runs; run++) {
    for (const user of opts.users.split(',')) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.addInitScript(instrument);
      const requests = [];
      let t0 = 0;
      page.on('request', (q) => t0 && requests.push({ q, start: performance.now() - t0 }));
      page.on('requestfinished', (q) => {
        const r = requests.find((x) => x.q === q);
        if (r) r.end = performance.now() - t0;
      });
      await page.goto(`${opts.base}/`);
      await page.waitForSelector('#login-form:not([hidden])');
      await page.fill('#login-name', user);
      await page.fill('#login-password', opts.password);
      t0 = performance.now();
      await page.press('#login-password', 'Enter');
      await page.waitForFunction(() => window.__paintedAt, null, { timeout: 60_000, polling: 100 });
      const m = await page.evaluate(() => ({ item: window.__itemAt - window.__submitAt, painted: window.__paintedAt - window.__submitAt, submit: window.__submitAt, longTasks: window.__longTasks }));
      (listMs[user] ??= []).push(m.painted);
      if (opts.map) {
        await page.waitForFunction(
          () => {
            const t = window.tuban;
            if (!(t.mapReady && t.map.getSource('polygons') && t.map.areTilesLoaded() && t.map.loaded())) return false;
            window.__mapAt ??= performance.now();
            return true;
          },
          null,
          { timeout: 60_000, polling: 'raf' },
        );
        (mapMs[user] ??= []).push(await page.evaluate(() => window.__mapAt - window.__submitAt));
      }
      if (opts.waterfall) {
        const tasks = m.longTasks.filter(([s]) => s >= m.submit).map(([s, d]) => `${(s - m.submit).toFixed(0)}+${d.toFixed(0)}`);
        console.log(`--- ${user}, run ${run + 1}: item in the DOM at ${m.item.toFixed(0)} ms, painted ${m.painted.toFixed(0)} ms; long tasks (start+ms): ${tasks.join(' ') || 'none'}`);
        const tiles = requests.filter((r) => /\/api\/imagery\/\d{4}-\d{2}\//.test(r.q.url()));
        for (const r of requests) if (!tiles.includes(r) && r.start < m.painted) console.log(`  ${r.start.toFixed(0).padStart(6)} → ${(r.end ?? NaN).toFixed(0).padStart(6)} ms  ${r.q.url().replace(opts.base, '')}`);
        if (tiles.length) console.log(`  ${tiles.length} imagery tiles, the first asked at ${Math.min(...tiles.map((r) => r.start)).toFixed(0)} ms`);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [u, a] of Object.entries(listMs)) console.log(`first inbox item painted, ${u}: ${a.map((x) => x.toFixed(0)).join(' ')} ms; median ${median(a).toFixed(0)} ms`);
for (const [u, a] of Object.entries(mapMs)) console.log(`map drawn, ${u}: ${a.map((x) => x.toFixed(0)).join(' ')} ms; median ${median(a).toFixed(0)} ms`);
