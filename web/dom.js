// Small DOM and formatting helpers shared by the page's modules.
export const $ = (id) => document.getElementById(id);

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** 亩 with two decimals. */
export const mu = (v) => (v == null ? '—' : Number(v).toFixed(2));
/** m² rounded to whole square metres. */
export const m2 = (v) => (v == null ? '—' : Math.round(Number(v)).toLocaleString('zh-CN'));
/** A clue reported as a point: no outline, so no area (its 0 read as a site of 0 m²). */
export const isPointClue = (p) => Boolean(p.source && p.source !== 'satellite' && !(Number(p.area_m2) > 0));

export const fmtPct = (v) => (v == null ? '—' : `${(Number(v) * 100).toFixed(0)}%`);
export const SQM_PER_MU = 10000 / 15;

/**
 * How late an overdue item is, in the unit its deadline was counted in (`kind`: the rule's, from
 * /api/deadlines): 逾期 5 个工作日 / 逾期 12 天; '' when it is not late. A working-day deadline on a
 * Friday is late on the weekend with no working day gone yet: 逾期 不足 1 个工作日.
 */
export function lateText(days, kind) {
  if (days == null) return '';
  if (kind !== 'working_days') return `逾期 ${days} 天`;
  return days > 0 ? `逾期 ${days} 个工作日` : '逾期 不足 1 个工作日';
}

/** <option>s for a label table {id: 中文}. */
export const options = (o, selected) => Object.entries(o).map(([k, v]) => `<option value="${esc(k)}"${k === selected ? ' selected' : ''}>${esc(v)}</option>`).join('');

export function toast(text, kind = 'info') {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  // A refusal stays long enough to be read (it may name several files).
  toast.timer = setTimeout(() => (t.hidden = true), kind === 'error' ? 10000 : 4000);
}

/** Page state lives in the URL (?epoch=YYYY-MM&case=CODE), the view in #map=zoom/lat/lng. */
export function setUrl(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) (v == null ? p.delete(k) : p.set(k, v));
  history.replaceState(null, '', `${location.pathname}${p.size ? `?${p}` : ''}${location.hash}`);
}

/** Today in China (UTC+8), the users' calendar. */
export const chinaToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/** A database timestamp ('2026-12-05 01:19:33.12+00') as China time 'YYYY-MM-DD HH:MM'. */
export function fmtTime(ts) {
  const d = new Date(String(ts ?? '').replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  if (Number.isNaN(d.getTime())) return String(ts ?? '').slice(0, 16);
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * One click, one request: `run` with `button` off until it settles; a click while it is off does
 * nothing (a double click recorded two 移送, raised an escalation two levels, registered a clue twice).
 */
export async function oneClick(button, run) {
  if (!button || button.disabled) return;
  button.disabled = true;
  try {
    await run();
  } finally {
    button.disabled = false;
  }
}
