/**
 * Query timings of the triage server at scale, without HTTP: N synthetic polygons (default 100 000)
 * in the embedded database, or in a fresh schema of TUBAN_TEST_DATABASE_URL; first and full case
 * sync, deadline sweep, inbox page of 100 (keyset, 20 pages; by code and by confidence), one card, a bbox map query, counts —
 * for a bureau user (a quarter of the polygons); then, with a ninth of the cases late and a 49th
 * closed past their review day, the sweep that escalates them and the every-month overdue queries: the
 * 逾期 tab's pages and badge (the bureau's), the lead's counts with 复核逾期 and its 逾期 tab. Prints one JSON line.
 *   npm run build && node dist/server/bench-queries.js [N]
 *   node scripts/test-servers.mjs -- node dist/server/bench-queries.js
 */
import { insertSyntheticPolygons, openTestDatabase } from './testing/fixtures.js';
import { syncCases, sweepDeadlines } from './workflow/case-store.js';
import { listPolygons, inboxCounts, polygonFeatureByCode } from './workflow/polygon-queries.js';
import { loadCalendar } from './deadlines/calendar.js';
import { DEFAULT_DEADLINES } from './deadlines/rules.js';
const N = Number(process.argv[2] ?? 100_000);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
async function main(): Promise<void> {
  const db = await openTestDatabase();
  await insertSyntheticPolygons(db, N);
  const d = { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() };
  let t = Date.now();
  await syncCases(db, d, null, '2026-11-03');
  const first = Date.now() - t;
  await db.query('ANALYZE');
  t = Date.now(); await syncCases(db, d, null, '2026-11-03'); const full = Date.now() - t;
  t = Date.now(); await sweepDeadlines(db, '2026-11-03', d); const sweep = Date.now() - t;
  const user = { name: 'u', role: 'bureau' as const, bureau: 'forestry', district: null };
  const inbox: number[] = [], card: number[] = [], bbox: number[] = [];
  let cursor: string | undefined;
  for (let k = 0; k < 20; k++) {
    t = Date.now();
    const fc = await listPolygons(db, user, { limit: 100, cursor }, '2026-11-03', {});
    inbox.push(Date.now() - t);
    cursor = fc.next_cursor ?? undefined;
    t = Date.now();
    await polygonFeatureByCode(db, user, fc.features[k].id as string, '2026-11-03', (x) => x);
    card.push(Date.now() - t);
    t = Date.now();
    await listPolygons(db, user, { limit: 10000, bbox: `${117 + k * 0.01},36.05,${117.02 + k * 0.01},36.07` }, '2026-11-03', {});
    bbox.push(Date.now() - t);
  }
  // The inbox sorted by confidence (keyset on confidence, code): the same 20 pages.
  const byConfidence: number[] = [];
  cursor = undefined;
  for (let k = 0; k < 20; k++) {
    t = Date.now();
    const fc = await listPolygons(db, user, { limit: 100, cursor, sort: 'confidence' }, '2026-11-03', {});
    byConfidence.push(Date.now() - t);
    cursor = fc.next_cursor ?? undefined;
  }
  t = Date.now(); await inboxCounts(db, user, '2026-11-03'); const counts = Date.now() - t;
  // What is late, of every month (no epoch): a ninth of the cases past their verification deadline and a
  // 49th closed and awaiting a review past its day. The sweep escalates the late ones once; then the
  // bureau's 逾期 tab (keyset pages of 100 by deadline, sort=due, as the page asks), its badge (counts
  // without epoch, all and 本单位主办), and the lead's counts with 复核逾期 and its 逾期 tab's first page.
  await db.query(`UPDATE cases SET due_date = '2026-10-31' WHERE right(code, 6)::int % 9 = 0`);
  await db.query(`UPDATE cases SET status = 'closed', due_date = '2026-11-01', due_rule = 'monthly_report' WHERE right(code, 6)::int % 49 = 5`);
  await db.query('ANALYZE');
  t = Date.now(); const late = await sweepDeadlines(db, '2026-11-03', d); const lateSweep = Date.now() - t;
  const overdueTab: number[] = [];
  let overdueListed = 0;
  cursor = undefined;
  for (let k = 0; k < 20; k++) {
    t = Date.now();
    const fc = await listPolygons(db, user, { limit: 100, cursor, overdue: 'true', sort: 'due', view: 'list' }, '2026-11-03', {});
    overdueTab.push(Date.now() - t);
    overdueListed += fc.features.length;
    cursor = fc.next_cursor ?? undefined;
    if (!cursor) break;
  }
  const badge: number[] = [], badgeOwn: number[] = [], leadCounts: number[] = [], leadTab: number[] = [];
  const lead = { name: 'l', role: 'lead' as const, bureau: null, district: null };
  let seen = { overdue: 0, review_overdue: 0 }, leadSeen = { overdue: 0, review_overdue: 0 };
  for (let k = 0; k < 10; k++) {
    t = Date.now(); seen = await inboxCounts(db, user, '2026-11-03'); badge.push(Date.now() - t);
    t = Date.now(); await inboxCounts(db, user, '2026-11-03', undefined, 'forestry'); badgeOwn.push(Date.now() - t);
    t = Date.now(); leadSeen = await inboxCounts(db, lead, '2026-11-03'); leadCounts.push(Date.now() - t);
    t = Date.now(); await listPolygons(db, lead, { limit: 100, overdue: 'true', sort: 'due', view: 'list' }, '2026-11-03', {}); leadTab.push(Date.now() - t);
  }
  console.log(JSON.stringify({ kind: db.kind, N, first_sync_ms: first, full_sync_ms: full, sweep_ms: sweep, counts_ms: counts,
    inbox100_p50: pct(inbox, 0.5), inbox100_p95: pct(inbox, 0.95), inbox100_by_confidence_p50: pct(byConfidence, 0.5), inbox100_by_confidence_p95: pct(byConfidence, 0.95), card_p50: pct(card, 0.5), card_p95: pct(card, 0.95), bbox_p50: pct(bbox, 0.5), bbox_p95: pct(bbox, 0.95),
    late_sweep_ms: lateSweep, late_escalated: late.overdue, overdue_badge: seen.overdue, overdue_listed: overdueListed, overdue_tab100_p50: pct(overdueTab, 0.5), overdue_tab100_p95: pct(overdueTab, 0.95),
    overdue_badge_p50: pct(badge, 0.5), overdue_badge_p95: pct(badge, 0.95), overdue_badge_own_p50: pct(badgeOwn, 0.5), overdue_badge_own_p95: pct(badgeOwn, 0.95),
    lead_review_overdue: leadSeen.review_overdue, lead_counts_p50: pct(leadCounts, 0.5), lead_counts_p95: pct(leadCounts, 0.95), lead_overdue_tab100_p50: pct(leadTab, 0.5), lead_overdue_tab100_p95: pct(leadTab, 0.95) }));
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
