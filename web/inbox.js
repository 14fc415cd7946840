// The inbox (filters, counts, keyset pages) and the overdue list: overdue first, then the nearest
// deadline, over every page (the server's sort=due); or the most confident first (sort=confidence).
import { api, download, errorText } from './api.js';
import { $, esc, fmtPct, isPointClue, lateText, mu, oneClick, toast } from './dom.js';
import * as L from './labels.js';
import { filterMap } from './map-layers.js';
import { emit, state } from './state.js';

const PAGE = 500;

/** Overdue first, then the nearest deadline, then high priority, then code. */
export function triageOrder(a, b) {
  const pa = a.properties;
  const pb = b.properties;
  return (
    Number(pb.overdue) - Number(pa.overdue) ||
    String(pa.due_date ?? '9999').localeCompare(String(pb.due_date ?? '9999')) ||
    Number(pb.priority === 'high') - Number(pa.priority === 'high') ||
    String(pa.code).localeCompare(String(pb.code))
  );
}

/** Query string with the month and the given parameters (empty ones left out). */
export function query(extra, { everyMonth = false } = {}) {
  const p = new URLSearchParams();
  if (state.epoch && !everyMonth) p.set('epoch', state.epoch);
  for (const [k, v] of Object.entries(extra)) if (v !== '' && v != null) p.set(k, v);
  return p.toString();
}

/**
 * The inbox's latest load, and whether it is still on its way: 加载更多 clicked again meanwhile would
 * ask for the same next page again (appended twice), or append the old list's next page to a list
 * being reloaded; a page that comes back after a newer load began (the filters changed) is dropped.
 */
const inboxLoad = { n: 0, busy: false };

/** `whole`: the list again as far as it was read (加载更多's pages too), not its first page only (a refresh behind the user's back). */
export async function loadInbox(more = false, { whole = false } = {}) {
  if (more && inboxLoad.busy) return;
  state.listsAskedAt = Date.now();
  const load = ++inboxLoad.n;
  inboxLoad.busy = true;
  try {
    await loadInboxPage(more, load, whole ? wholeLimit(state.items) : PAGE);
  } finally {
    if (load === inboxLoad.n) inboxLoad.busy = false;
  }
}

async function loadInboxPage(more, load, limit) {
  const list = $('inbox-list');
  list.setAttribute('aria-busy', 'true');
  const byConfidence = $('f-sort').value === 'confidence';
  const filters = inboxFilters(limit);
  // Keyset pages from the server (next_cursor), in its order over every page: overdue first, then the
  // nearest deadline (sort=due), or the most confident; each page is then put in triage order, which
  // also puts high priority first among equal deadlines. 加载更多 appends the next page below: the
  // items already read keep their places (re-sorting them all moved the next page's 高 above them).
  const fc = await api(`/api/polygons?${query({ ...filters, cursor: more ? state.nextCursor : '' })}`);
  if (load !== inboxLoad.n) return;
  if (!more) filterMap(filters);
  // The field file: the same filters, every page (the server pages through them itself).
  $('field-kml').href = `/api/polygons.kml?${query({ status: filters.status, priority: filters.priority, overdue: filters.overdue, lead_bureau: filters.lead_bureau })}`;
  const page = byConfidence ? fc.features : fc.features.sort(triageOrder);
  state.items = [...(more ? state.items : []), ...page];
  state.nextCursor = fc.next_cursor ?? null;
  renderItems(list, page, byConfidence, more);
  $('inbox-more').hidden = !state.nextCursor;
  $('inbox-empty').hidden = state.items.length > 0;
  showAcceptListed();
  list.removeAttribute('aria-busy');
  if (!more) state.cursor = -1;
}

/**
 * The year of a working-day due date whose holidays no calendar of the server gave (null otherwise):
 * the card says so in words (`due_holidays_unknown`), the lists mark it.
 */
function holidaysUnknown(p) {
  const d = state.deadlines;
  if (!d || !p.due_date || d.rules?.[p.due_rule]?.kind !== 'working_days') return null;
  const year = Number(String(p.due_date).slice(0, 4));
  return d.calendar_years.includes(year) ? null : year;
}

/**
 * The items as buttons; `withConfidence` adds each polygon's confidence (the inbox sorted by it);
 * `append` adds them below the list's items (only the new page is built).
 */
function renderItems(list, features, withConfidence = false, append = false) {
  const html = features
    .map((f) => {
      const p = f.properties;
      const gap = holidaysUnknown(p);
      const gapMark = gap ? `<span class="calendar-gap-mark" title="未载入 ${gap} 年节假日安排，工作日按周一至周五推算，期限可能偏早">※</span>` : '';
      const late = p.overdue ? lateText(p.days_overdue, state.deadlines?.rules?.[p.due_rule]?.kind) : '';
      const due = p.due_date
        ? `<span class="due ${p.overdue || p.review_overdue ? 'overdue' : ''}">${p.overdue ? `${esc(late || '逾期')} · 期限 ` : p.review_overdue ? '复核逾期 · 期限 ' : '期限 '}${esc(p.due_date)}${gapMark}</span>`
        : '';
      const urged = p.urged ? ` · <b class="urged" title="牵头局督办 ${p.urged} 次，最近 ${esc(p.last_urged_on ?? '')}">已督办 ${p.urged} 次（${esc(p.last_urged_on ?? '')}）</b>` : '';
      const clue = p.source && p.source !== 'satellite';
      const kind = clue && L.CLUE_SOURCES[p.source] ? L.CLUE_SOURCES[p.source] : L.CHANGE_TYPES[p.change_type] ?? p.change_type ?? '';
      const confidence = withConfidence && !clue ? ` · <span class="confidence">置信度 ${fmtPct(p.confidence)}</span>` : '';
      // Whose work it is: a bureau sees which items it only co-handles, everyone else the lead bureau.
      const u = state.user;
      const coHandled = u?.role === 'bureau' && p.lead_bureau !== u.bureau;
      const lead = u?.role === 'bureau' ? '' : ` · <span class="lead-bureau">${esc(p.lead_bureau_name ?? L.BUREAUS[p.lead_bureau] ?? p.lead_bureau ?? '')}</span>`;
      return `<li><button type="button" class="item" data-code="${esc(p.code)}">
        <span class="dot" style="background:${L.STATUS_COLOR[p.status] ?? '#999'}"></span>
        <span class="code">${esc(p.code)}</span>
        <span class="status-text">${esc(L.STATUS[p.status] ?? p.status ?? '')}</span>
        <span class="badges">${coHandled ? '<span class="badge co" title="本单位为协办单位，判定由主办单位录入">协办</span>' : ''}${p.priority === 'high' ? '<span class="badge danger">高</span>' : ''}</span>
        <span class="meta">${esc(p.district_name ?? '')} · ${esc(kind)} · ${isPointClue(p) ? '点位' : `${mu(p.area_mu)} 亩`}${lead}${confidence}${p.geometry_changed ? ' · <b class="overdue">图形已变</b>' : ''}${urged}${p.last_sighting ? ` · <b class="sighting" title="同一地块在 ${esc(p.last_sighting)} 再次监测到变化，已并入本案件">${esc(p.last_sighting)} 再次变化</b>` : ''}</span>
        ${due}
      </button></li>`;
    })
    .join('');
  if (append) list.insertAdjacentHTML('beforeend', html);
  else list.innerHTML = html;
}

/** The 主办 filter's bureau: the counts and the overdue list follow it, as the list does (a bureau's 本单位主办: its own lateness, not the cases it co-handles). */
const leadFilter = () => ({ lead_bureau: $('f-lead').value });

/** The counts' latest load: a reply to an earlier one (the 主办 filter changed meanwhile) is dropped, as loadOverdue's. */
const countsLoad = { n: 0 };

export async function loadCounts() {
  const load = ++countsLoad.n;
  // The month's counts, and every month's for what is late whatever month it is of (a month's cases fall
  // due as the next month is shown): the 逾期 badge and the lead's 复核逾期 (last month's closures are
  // reviewed by the 5th, on the new month's page).
  const [c, every] = await Promise.all([api(`/api/inbox/counts?${query(leadFilter())}`), api(`/api/inbox/counts?${query(leadFilter(), { everyMonth: true })}`)]);
  if (load !== countsLoad.n) return;
  const badge = $('overdue-badge');
  badge.textContent = every.overdue ?? 0;
  badge.hidden = !every.overdue;
  const parts = [`<span class="count">全部 <b>${c.total ?? 0}</b></span>`];
  for (const [id, label] of Object.entries(L.STATUS)) {
    const n = c.by_status?.[id] ?? 0;
    if (n) parts.push(`<button type="button" class="count" data-status="${id}"><i class="dot" style="background:${L.STATUS_COLOR[id]}"></i>${label} <b>${n}</b></button>`);
  }
  if (c.overdue) parts.push(`<button type="button" class="count danger" data-overdue="1">逾期 <b>${c.overdue}</b></button>`);
  // The lead bureau's own late reviews (closures past the 5th of the next month): not the bureaus' overdue.
  // A label, not a button: no filter lists the late reviews alone (已销号's list has them all, each marked 复核逾期).
  if (every.review_overdue) parts.push(`<span class="count danger" id="count-review-late" title="各月已销号列表中标注“复核逾期”的图斑">复核逾期 <b>${every.review_overdue}</b></span>`);
  // Cases whose polygon a re-run no longer finds: not on the map or in the list, so named here.
  if (c.vanished?.length) parts.push(`<span class="count warn">复跑后未再检出：${c.vanished.map((code) => `<button type="button" class="count link" data-code="${esc(code)}">${esc(code)}</button>`).join(' ')}</span>`);
  $('counts').innerHTML = parts.join('');
}

/** The inbox's query as its filters say, `limit` items from the first. */
const inboxFilters = (limit) => ({ status: $('f-status').value, priority: $('f-priority').value, overdue: $('f-overdue').checked ? 'true' : '', sort: $('f-sort').value, lead_bureau: $('f-lead').value, limit, view: 'list' });

/** As many items as a list holds (加载更多's pages too), at most the server's 10 000 a request. */
const wholeLimit = (items) => Math.min(10_000, Math.max(PAGE, items.length));

/** Whether a list (or a page of it) is on its way: a poll then leaves the lists alone. */
export const listsBusy = () => inboxLoad.busy || overdueLoad.busy;

/** What a list shows of its items, for telling whether it would look any different. */
const shown = (features) =>
  JSON.stringify(features.map((f) => f.properties).sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));

/**
 * Whether the inbox or the overdue list, asked again as far as each was read, differs from what they
 * show (a colleague's verdict, the lead's review, a case fallen due): a poll redraws only then, so a
 * list is not rebuilt under the user every 30 s for nothing.
 */
export async function listsChanged() {
  const asked = [api(`/api/polygons?${query(inboxFilters(wholeLimit(state.items)))}`)];
  if (state.overdueItems) {
    asked.push(api(`/api/polygons?${query({ overdue: 'true', sort: 'due', limit: wholeLimit(state.overdueItems), view: 'list', ...leadFilter() }, { everyMonth: true })}`));
  }
  const [inbox, overdue] = await Promise.all(asked);
  return shown(inbox.features) !== shown(state.items) || (overdue !== undefined && shown(overdue.features) !== shown(state.overdueItems));
}

/**
 * The overdue list, in keyset pages like the inbox (加载更多): the badge (loadCounts) counts them all. Of every month,
 * not the one shown: a month's cases fall due at its end, when the next month's batch arrives and is
 * the month shown, and last month's late cases are the ones to act on (and escalate).
 */
const overdueLoad = { n: 0, busy: false };

export async function loadOverdue(more = false, { whole = false } = {}) {
  // As the inbox's (inboxLoad): no 加载更多 while a load is on its way, and a page of an earlier load is dropped.
  if (more && overdueLoad.busy) return;
  const limit = whole ? wholeLimit(state.overdueItems) : PAGE;
  const load = ++overdueLoad.n;
  overdueLoad.busy = true;
  let fc;
  try {
    fc = await api(`/api/polygons?${query({ overdue: 'true', sort: 'due', limit, view: 'list', ...leadFilter(), cursor: more ? state.overdueCursor : '' }, { everyMonth: true })}`);
  } finally {
    if (load === overdueLoad.n) overdueLoad.busy = false;
  }
  if (load !== overdueLoad.n) return;
  const items = [...(more ? state.overdueItems : []), ...fc.features].sort(triageOrder);
  state.overdueItems = items;
  state.overdueCursor = fc.next_cursor ?? null;
  renderItems($('overdue-list'), items);
  $('overdue-more').hidden = !state.overdueCursor;
  $('overdue-empty').hidden = items.length > 0;
}

/** The 主办 filter: a bureau picks its own work apart from what it co-handles; the others pick any bureau. */
export function setLeadFilter(user) {
  $('f-lead').innerHTML =
    user.role === 'bureau'
      ? `<option value="">全部（含协办）</option><option value="${esc(user.bureau)}">本单位主办</option>`
      : `<option value="">全部</option>${Object.entries(L.BUREAUS).map(([k, v]) => `<option value="${esc(k)}">${esc(v)}</option>`).join('')}`;
}

/** The listed polygons this bureau leads and has not signed for yet (签收). */
function signable() {
  const u = state.user;
  if (u?.role !== 'bureau') return [];
  return state.items.filter((f) => f.properties.status === 'issued' && f.properties.lead_bureau === u.bureau).map((f) => f.properties.code);
}

function showAcceptListed() {
  const n = signable().length;
  const b = $('accept-listed');
  b.hidden = n === 0;
  b.textContent = `签收列表中待签收的 ${n} 项`;
}

/** 签收 of every listed polygon waiting for it, in one request (each accepted on its own on the server). */
async function acceptListed(button) {
  const codes = signable();
  if (codes.length === 0 || !confirm(`签收列表中待签收的 ${codes.length} 项图斑？`)) return;
  await oneClick(button, async () => {
    let r;
    try {
      r = await api('/api/polygons/accept', { method: 'POST', body: { codes } });
    } catch (err) {
      return toast(errorText(err), 'error');
    }
    // Refused ones (taken meanwhile by a reassignment, say) are named; the others are signed for.
    const refused = r.refused.length ? `；${r.refused.length} 项未能签收（${r.refused.map((x) => x.code).slice(0, 5).join('、')}${r.refused.length > 5 ? ' 等' : ''}），可能已由他人办理或改派` : '';
    toast(`已签收 ${r.accepted.length} 项${refused}`, r.refused.length ? 'error' : 'ok');
    await emit('changed', null).catch(() => toast('已签收；但页面未能刷新，请重新加载页面查看最新状态', 'error'));
  });
}

/** The field file of the listed filters; a refusal said as a toast, not saved as the .kml. */
async function downloadFieldFile(link) {
  if (link.getAttribute('aria-busy') === 'true') return;
  link.setAttribute('aria-busy', 'true');
  toast('正在生成外业核查 KML…', 'info');
  try {
    toast(`已下载 ${await download(link.href)}`, 'ok');
  } catch (err) {
    toast(`未能导出：${errorText(err)}`, 'error');
  } finally {
    link.removeAttribute('aria-busy');
  }
}

/**
 * The code typed into 编号 (a call about 370112-202610-0123, or its last digits): a whole code opens
 * its card (the server says if it is not the caller's); a tail opens the one listed item ending so.
 */
function openTyped(input) {
  const typed = input.value.trim();
  if (!typed) return;
  if (/^\d{6}-\d{6}-/.test(typed)) return emit('open', typed);
  const hits = state.items.map((f) => f.properties.code).filter((c) => c.endsWith(typed));
  if (hits.length === 1) return emit('open', hits[0]);
  toast(hits.length ? `列表中有 ${hits.length} 个图斑以 ${typed} 结尾，请输入更多位` : `列表中没有以 ${typed} 结尾的图斑；输入完整编号可打开不在本页的图斑`, 'error');
}

export function wireInbox() {
  // Not a filter: the form's change event must not reload the list for it.
  $('f-code').addEventListener('change', (ev) => ev.stopPropagation());
  $('f-code').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    openTyped(ev.currentTarget);
  });
  $('accept-listed').addEventListener('click', (ev) => acceptListed(ev.currentTarget));
  $('field-kml').addEventListener('click', (ev) => {
    ev.preventDefault();
    downloadFieldFile(ev.currentTarget);
  });
  for (const [id, label] of Object.entries(L.STATUS)) $('f-status').insertAdjacentHTML('beforeend', `<option value="${id}">${label}</option>`);
  $('f-priority').innerHTML = `<option value="">全部</option>${Object.entries(L.PRIORITY).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join('')}`;
  $('filters').addEventListener('change', (ev) => {
    loadInbox();
    if (ev.target.id === 'f-lead') Promise.all([loadCounts(), loadOverdue()]).catch((err) => toast(errorText(err), 'error'));
  });
  $('inbox-more').addEventListener('click', () => loadInbox(true));
  $('overdue-more').addEventListener('click', () => loadOverdue(true));
  for (const id of ['inbox-list', 'overdue-list']) {
    $(id).addEventListener('click', (ev) => {
      const b = ev.target.closest('button.item');
      if (b) emit('open', b.dataset.code);
    });
  }
  $('counts').addEventListener('click', (ev) => {
    const b = ev.target.closest('button.count');
    if (!b) return;
    if (b.dataset.code) return emit('open', b.dataset.code);
    // The list the count counts (over the 主办 filter only): its status, or 逾期, with no other filter
    // narrowing it. Kept, an earlier 仅逾期 or priority left 已下发 67 over a list of 3, or an empty one.
    $('f-status').value = b.dataset.status ?? '';
    $('f-overdue').checked = Boolean(b.dataset.overdue);
    $('f-priority').value = '';
    loadInbox();
  });
}
