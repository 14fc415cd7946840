// The lead bureau's tab: the month's ledger downloads, its quarter's report (联席会议) and the month's summary by district and by lead bureau.
import { api } from './api.js';
import { $, esc, SQM_PER_MU } from './dom.js';
import { query } from './inbox.js';
import * as L from './labels.js';
import { state } from './state.js';

/**
 * The summary's latest load: a month (or a refresh) asked for while an earlier load is still reading
 * its pages makes that one stale, and its counts are dropped (as the inbox's inboxLoad), or the old
 * month's could land after the new one's and be shown under it.
 */
const summaryLoad = { n: 0 };

export async function loadLedger() {
  const load = ++summaryLoad.n;
  const e = encodeURIComponent(state.epoch ?? '');
  // Downloads ride on the HttpOnly session cookie the sign-in set, so plain links work.
  $('ledger-links').innerHTML = L.LEDGER_FORMATS.map(([ext, label]) => `<li><a href="/api/ledger/${e}.${ext}" download>${label}</a></li>`).join('');
  const [y, m] = String(state.epoch ?? '').split('-').map(Number);
  const quarter = y && m ? `${y}Q${Math.ceil(m / 3)}` : null;
  $('report-heading').textContent = quarter ? `${quarter} 季度报告（按区县、牵头单位，含零报告）` : '季度报告';
  $('report-links').innerHTML = quarter
    ? [['xlsx', 'Excel (.xlsx)'], ['csv', 'CSV (.csv, UTF-8)']].map(([ext, label]) => `<li><a href="/api/report/${quarter}.${ext}" download>${label}</a></li>`).join('')
    : '';
  // Every page of the month: the summary is of the month, not of its first 10 000 polygons.
  const features = [];
  let cursor = '';
  const summary = $('summary');
  summary.setAttribute('aria-busy', 'true');
  do {
    // The list view: the counts need no outlines (a city month's would be many MB).
    const fc = await api(`/api/polygons?${query({ limit: 10000, cursor, view: 'list' })}`);
    // A newer load began (another month, a refresh): its pages are the ones to count; stop reading these.
    if (load !== summaryLoad.n) return;
    features.push(...fc.features);
    cursor = fc.next_cursor ?? '';
  } while (cursor);
  summary.removeAttribute('aria-busy');
  const byDistrict = tally(features, (p) => p.district_name ?? p.district_code ?? '—');
  const byBureau = tally(features, (p) => p.lead_bureau_name ?? p.lead_bureau ?? '—');
  const total = byDistrict.total;
  const tr = (name, r) => `<tr><th>${esc(name)}</th><td>${r.n}</td><td>${(r.m2 / SQM_PER_MU).toFixed(2)}</td><td>${r.legal}</td><td>${r.illegal}</td><td>${r.other}</td><td>${r.status.monitoring}</td><td>${r.open}</td><td class="${r.overdue ? 'overdue' : ''}">${r.overdue}</td></tr>`;
  // By lead bureau: where each bureau stands with its work, for the lead bureau's 督导. Each polygon in
  // exactly one status column, named as the inbox's status filter names it, so a row adds up to its 图斑.
  const bt = (name, r) => `<tr><th>${esc(name)}</th><td>${r.n}</td>${STATUS_COLUMNS.map(([key]) => `<td>${r.status[key]}</td>`).join('')}<td>${r.open}</td><td class="${r.overdue ? 'overdue' : ''}">${r.overdue}</td></tr>`;
  const statusHeadings = STATUS_COLUMNS.map(([, label, title]) => `<th class="status"${title ? ` title="${esc(title)}"` : ''}>${esc(label)}</th>`).join('');
  // Each table in its own sideways-scrolling box: the by-bureau table's columns are wider than the panel.
  summary.innerHTML = `<div class="table-scroll"><table class="table" id="summary-table"><thead><tr><th>区县</th><th>图斑</th><th>面积(亩)</th><th>合法</th><th>违法</th><th>其他</th><th>持续监测</th><th>未销号</th><th>逾期</th></tr></thead>
    <tbody>${[...byDistrict.rows].sort().map(([k, r]) => tr(k, r)).join('')}</tbody><tfoot>${tr('合计', total)}</tfoot></table></div>
    <p class="muted">已出核查结论 ${total.judged}/${total.n}，违法占比 ${total.n ? ((total.illegal / total.n) * 100).toFixed(1) : 0}%</p>
    <div class="table-scroll"><table class="table" id="summary-bureau-table"><thead><tr><th rowspan="2">牵头单位</th><th rowspan="2">图斑</th><th colspan="${STATUS_COLUMNS.length}" class="group">当前状态</th><th rowspan="2">未销号</th><th rowspan="2">逾期</th></tr><tr>${statusHeadings}</tr></thead>
    <tbody>${[...byBureau.rows].sort().map(([k, r]) => bt(k, r)).join('')}</tbody><tfoot>${bt('合计', byBureau.total)}</tfoot></table></div>`;
}

/**
 * The by-bureau table's status columns, [key, heading, tooltip]: each workflow status under its own
 * label, the settled ones (asking nothing more of anyone) together as 已办结.
 */
const SETTLED_KEY = 'settled';
const STATUS_COLUMNS = [
  ...Object.keys(L.STATUS)
    .filter((s) => !L.SETTLED.includes(s))
    .map((s) => [s, L.STATUS[s], null]),
  [SETTLED_KEY, '已办结', L.SETTLED.map((s) => L.STATUS[s]).join('、')],
];

/** Counts of `features` per `keyOf(properties)`, and over all. */
function tally(features, keyOf) {
  const blank = () => ({ n: 0, m2: 0, legal: 0, illegal: 0, other: 0, judged: 0, status: Object.fromEntries(STATUS_COLUMNS.map(([key]) => [key, 0])), open: 0, overdue: 0 });
  const rows = new Map();
  const total = blank();
  for (const f of features) {
    const p = f.properties;
    const key = keyOf(p);
    const r = rows.get(key) ?? blank();
    for (const t of [r, total]) {
      t.n++;
      // m², converted once per row: summing rounded 亩 drifted from `tuban report`'s totals.
      t.m2 += Number(p.area_m2 ?? 0);
      if (p.verdict) {
        t[p.verdict]++;
        t.judged++;
      }
      // Each status once; the district table's 持续监测 is its column here: of the 其他, those now waiting on their re-check.
      t.status[L.SETTLED.includes(p.status) ? SETTLED_KEY : p.status]++;
      // 销号 is the review's approval (a closure awaiting it is not yet 销号); withdrawn and merged ask nothing more.
      if (!L.SETTLED.includes(p.status)) t.open++;
      if (p.overdue) t.overdue++;
    }
    rows.set(key, r);
  }
  return { rows, total };
}
