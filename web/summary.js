// The lead bureau's tab: the month's ledger downloads, its quarter's report (联席会议) and the month's summary by district.
import { api } from './api.js';
import { $, esc, SQM_PER_MU } from './dom.js';
import { query } from './inbox.js';
import * as L from './labels.js';
import { state } from './state.js';

export async function loadLedger() {
  const e = encodeURIComponent(state.epoch ?? '');
  // Downloads ride on the HttpOnly session cookie the sign-in set, so plain links work.
  $('ledger-links').innerHTML = L.LEDGER_FORMATS.map(([ext, label]) => `<li><a href="/api/ledger/${e}.${ext}" download>${label}</a></li>`).join('');
  const [y, m] = String(state.epoch ?? '').split('-').map(Number);
  const quarter = y && m ? `${y}Q${Math.ceil(m / 3)}` : null;
  $('report-heading').textContent = quarter ? `${quarter} 季度报告（按区县、牵头单位，含零报告）` : '季度报告';
  $('report-links').innerHTML = quarter
    ? [['xlsx', 'Excel (.xlsx)'], ['csv', 'CSV (.csv, UTF-8)']].map(([ext, label]) => `<li><a href="/api/report/${quarter}.${ext}" download>${label}</a></li>`).join('')
    : '';
  const fc = await api(`/api/polygons?${query({ limit: 10000 })}`);
  const rows = new Map();
  const total = { n: 0, m2: 0, legal: 0, illegal: 0, other: 0, open: 0, overdue: 0 };
  for (const f of fc.features) {
    const p = f.properties;
    const key = p.district_name ?? p.district_code ?? '—';
    const r = rows.get(key) ?? { n: 0, m2: 0, legal: 0, illegal: 0, other: 0, open: 0, overdue: 0 };
    for (const t of [r, total]) {
      t.n++;
      // m², converted once per row: summing rounded 亩 drifted from `tuban report`'s totals.
      t.m2 += Number(p.area_m2 ?? 0);
      if (p.verdict) t[p.verdict]++;
      if (!['closed', 'reviewed'].includes(p.status)) t.open++;
      if (p.overdue) t.overdue++;
    }
    rows.set(key, r);
  }
  const tr = (name, r) => `<tr><th>${esc(name)}</th><td>${r.n}</td><td>${(r.m2 / SQM_PER_MU).toFixed(2)}</td><td>${r.legal}</td><td>${r.illegal}</td><td>${r.other}</td><td>${r.open}</td><td class="${r.overdue ? 'overdue' : ''}">${r.overdue}</td></tr>`;
  $('summary').innerHTML = `<table class="table" id="summary-table"><thead><tr><th>区县</th><th>图斑</th><th>面积(亩)</th><th>合法</th><th>违法</th><th>其他</th><th>未销号</th><th>逾期</th></tr></thead>
    <tbody>${[...rows].sort().map(([k, r]) => tr(k, r)).join('')}</tbody><tfoot>${tr('合计', total)}</tfoot></table>
    <p class="muted">已判定 ${total.legal + total.illegal + total.other}/${total.n}，违法占比 ${total.n ? ((total.illegal / total.n) * 100).toFixed(1) : 0}%${fc.next_cursor ? '（仅统计前 10000 个图斑）' : ''}</p>`;
}
