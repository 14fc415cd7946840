// Tuban's one page: sign-in, inbox, polygon card, map over the batch's own imagery.
// Plain ES module, no build step; MapLibre GL JS is served from node_modules at /vendor/.
// Page state lives in the URL: ?epoch=YYYY-MM&case=CODE, and the view in #map=zoom/lat/lng.
import * as L from './labels.js';
import { polygonLayer } from './map-source.js';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem('tuban.token'),
  user: null,
  epoch: null,
  epochs: [],
  side: 'after',
  items: [],
  cursor: -1,
  openCode: null,
  selected: null,
  map: null,
  mapReady: false,
};
// Exposed for the browser test and for debugging in the console.
window.tuban = state;

// ------------------------------------------------------------------ API
class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && path !== '/api/session') {
    signOut('登录已过期，请重新登录');
    throw new ApiError(401, await res.json().catch(() => null));
  }
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  return res.status === 204 ? null : res.json();
}

/** An image behind the bearer token, as an object URL (an <img src> cannot carry the header). */
async function authedImage(path) {
  const res = await fetch(path, { headers: state.token ? { Authorization: `Bearer ${state.token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, null);
  return { url: URL.createObjectURL(await res.blob()), date: res.headers.get('x-sensor-date') };
}

function toast(text, kind = 'info') {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const mu = (v) => (v == null ? '—' : Number(v).toFixed(2));
const fmtPct = (v) => (v == null ? '—' : `${(Number(v) * 100).toFixed(0)}%`);

// ------------------------------------------------------------------ session
async function signIn(name, password) {
  const r = await api('/api/session', { method: 'POST', body: { name, password } });
  state.token = r.token;
  sessionStorage.setItem('tuban.token', r.token);
  state.user = r.user ?? (await api('/api/me'));
}

function signOut(message) {
  state.token = null;
  state.user = null;
  sessionStorage.removeItem('tuban.token');
  fetch('/api/session', { method: 'DELETE' }).catch(() => {});
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  if (message) showLoginError(message);
  $('login-name').focus();
}

function showLoginError(text) {
  const e = $('login-error');
  e.textContent = text;
  e.hidden = false;
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const btn = $('login-submit');
  btn.disabled = true;
  btn.textContent = '登录中…';
  $('login-error').hidden = true;
  try {
    await signIn($('login-name').value.trim(), $('login-password').value);
    $('login-password').value = '';
    await start();
  } catch (err) {
    showLoginError(err.status === 401 ? '用户名或密码不正确' : `登录失败：${err.message}`);
  } finally {
    btn.disabled = false;
    btn.textContent = '登录';
  }
});
$('logout').addEventListener('click', () => signOut());

// ------------------------------------------------------------------ start
async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  const u = state.user;
  $('who').textContent = `${u.name} · ${L.ROLES[u.role] ?? u.role}${u.bureau ? ` · ${L.BUREAUS[u.bureau] ?? u.bureau}` : ''}${u.district ? ` · ${u.district}` : ''}`;
  $('tab-ledger').hidden = u.role !== 'lead';
  const params = new URLSearchParams(location.search);
  // A server without imagery (no batch yet) still gives a working inbox, just no map imagery.
  const { epochs } = await api('/api/imagery/epochs').catch(() => ({ epochs: [] }));
  state.epochs = epochs;
  const sel = $('epoch');
  sel.innerHTML = epochs.map((e) => `<option value="${esc(e.epoch)}">${esc(e.epoch)}</option>`).join('');
  state.epoch = epochs.some((e) => e.epoch === params.get('epoch')) ? params.get('epoch') : epochs[0]?.epoch ?? null;
  sel.value = state.epoch ?? '';
  initMap();
  await refresh();
  const code = params.get('case');
  if (code) openCard(code);
}

$('epoch').addEventListener('change', async (ev) => {
  state.epoch = ev.target.value;
  setUrl({ epoch: state.epoch, case: null });
  closeCard();
  setImagery(state.side);
  fitToEpoch();
  await refresh();
});

function setUrl(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) (v == null ? p.delete(k) : p.set(k, v));
  history.replaceState(null, '', `${location.pathname}${p.size ? `?${p}` : ''}${location.hash}`);
}

async function refresh() {
  await Promise.all([loadInbox(), loadCounts(), loadOverdue(), loadMapData()]);
  if (state.user?.role === 'lead' && !$('view-ledger').hidden) loadLedger();
}

// ------------------------------------------------------------------ inbox
for (const [id, label] of Object.entries(L.STATUS)) $('f-status').insertAdjacentHTML('beforeend', `<option value="${id}">${label}</option>`);
$('filters').addEventListener('change', () => loadInbox());
$('inbox-more').addEventListener('click', () => loadInbox(true));

/** Overdue first, then the nearest deadline, then high priority, then code. */
function triageOrder(a, b) {
  const pa = a.properties;
  const pb = b.properties;
  return (
    Number(pb.overdue) - Number(pa.overdue) ||
    String(pa.due_date ?? '9999').localeCompare(String(pb.due_date ?? '9999')) ||
    Number(pb.priority === 'high') - Number(pa.priority === 'high') ||
    String(pa.code).localeCompare(String(pb.code))
  );
}

function query(extra) {
  const p = new URLSearchParams();
  if (state.epoch) p.set('epoch', state.epoch);
  for (const [k, v] of Object.entries(extra)) if (v !== '' && v != null) p.set(k, v);
  return p.toString();
}

const PAGE = 500;

async function loadInbox(more = false) {
  const list = $('inbox-list');
  list.setAttribute('aria-busy', 'true');
  const filters = { status: $('f-status').value, priority: $('f-priority').value, overdue: $('f-overdue').checked ? 'true' : '', limit: PAGE };
  // Keyset pages from the server (next_cursor); the triage order applies to what is loaded.
  const fc = await api(`/api/polygons?${query({ ...filters, cursor: more ? state.nextCursor : '' })}`);
  state.items = [...(more ? state.items : []), ...fc.features].sort(triageOrder);
  state.nextCursor = fc.next_cursor ?? null;
  renderItems(list, state.items);
  $('inbox-more').hidden = !state.nextCursor;
  $('inbox-empty').hidden = state.items.length > 0;
  list.removeAttribute('aria-busy');
  if (!more) state.cursor = -1;
}

function renderItems(list, features) {
  list.innerHTML = features
    .map((f) => {
      const p = f.properties;
      const due = p.due_date ? `<span class="due ${p.overdue ? 'overdue' : ''}">${p.overdue ? '逾期 ' : '期限 '}${esc(p.due_date)}</span>` : '';
      return `<li><button type="button" class="item" data-code="${esc(p.code)}">
        <span class="dot" style="background:${L.STATUS_COLOR[p.status] ?? '#999'}"></span>
        <span class="code">${esc(p.code)}</span>
        <span class="status-text">${esc(L.STATUS[p.status] ?? p.status ?? '')}</span>
        ${p.priority === 'high' ? '<span class="badge danger">高</span>' : ''}
        <span class="meta">${esc(p.district_name ?? '')} · ${esc(L.CHANGE_TYPES[p.change_type] ?? p.change_type ?? '')} · ${mu(p.area_mu)} 亩</span>
        ${due}
      </button></li>`;
    })
    .join('');
}

for (const id of ['inbox-list', 'overdue-list']) {
  $(id).addEventListener('click', (ev) => {
    const b = ev.target.closest('button.item');
    if (b) openCard(b.dataset.code);
  });
}

async function loadCounts() {
  const c = await api(`/api/inbox/counts?${query({})}`);
  const parts = [`<span class="count">全部 <b>${c.total ?? 0}</b></span>`];
  for (const [id, label] of Object.entries(L.STATUS)) {
    const n = c.by_status?.[id] ?? 0;
    if (n) parts.push(`<button type="button" class="count" data-status="${id}"><i class="dot" style="background:${L.STATUS_COLOR[id]}"></i>${label} <b>${n}</b></button>`);
  }
  if (c.overdue) parts.push(`<button type="button" class="count danger" data-overdue="1">逾期 <b>${c.overdue}</b></button>`);
  $('counts').innerHTML = parts.join('');
  const badge = $('overdue-badge');
  badge.textContent = c.overdue ?? 0;
  badge.hidden = !c.overdue;
}

$('counts').addEventListener('click', (ev) => {
  const b = ev.target.closest('button.count');
  if (!b) return;
  if (b.dataset.status) $('f-status').value = b.dataset.status;
  if (b.dataset.overdue) $('f-overdue').checked = true;
  loadInbox();
});

async function loadOverdue() {
  const fc = await api(`/api/polygons?${query({ overdue: 'true', limit: 500 })}`);
  const items = [...fc.features].sort(triageOrder);
  renderItems($('overdue-list'), items);
  $('overdue-empty').hidden = items.length > 0;
}

// ------------------------------------------------------------------ tabs
function showView(name) {
  for (const t of document.querySelectorAll('.tabs [role=tab]')) t.setAttribute('aria-selected', String(t.dataset.view === name));
  for (const v of ['inbox', 'overdue', 'ledger']) $(`view-${v}`).hidden = v !== name;
  $('view-card').hidden = true;
  if (name === 'ledger') loadLedger();
}
document.querySelector('.tabs').addEventListener('click', (ev) => {
  const t = ev.target.closest('[role=tab]');
  if (t) {
    closeCard();
    showView(t.dataset.view);
  }
});

// ------------------------------------------------------------------ ledger and summary (lead bureau)
async function loadLedger() {
  const e = encodeURIComponent(state.epoch ?? '');
  // Downloads ride on the HttpOnly session cookie the sign-in set, so plain links work.
  $('ledger-links').innerHTML = L.LEDGER_FORMATS.map(([ext, label]) => `<li><a href="/api/ledger/${e}.${ext}" download>${label}</a></li>`).join('');
  const fc = await api(`/api/polygons?${query({ limit: 10000 })}`);
  const rows = new Map();
  const total = { n: 0, mu: 0, legal: 0, illegal: 0, other: 0, open: 0, overdue: 0 };
  for (const f of fc.features) {
    const p = f.properties;
    const key = p.district_name ?? p.district_code ?? '—';
    const r = rows.get(key) ?? { n: 0, mu: 0, legal: 0, illegal: 0, other: 0, open: 0, overdue: 0 };
    for (const t of [r, total]) {
      t.n++;
      t.mu += Number(p.area_mu ?? 0);
      if (p.verdict) t[p.verdict]++;
      if (!['closed', 'reviewed'].includes(p.status)) t.open++;
      if (p.overdue) t.overdue++;
    }
    rows.set(key, r);
  }
  const tr = (name, r) => `<tr><th>${esc(name)}</th><td>${r.n}</td><td>${r.mu.toFixed(2)}</td><td>${r.legal}</td><td>${r.illegal}</td><td>${r.other}</td><td>${r.open}</td><td class="${r.overdue ? 'overdue' : ''}">${r.overdue}</td></tr>`;
  $('summary').innerHTML = `<table class="table" id="summary-table"><thead><tr><th>区县</th><th>图斑</th><th>面积(亩)</th><th>合法</th><th>违法</th><th>其他</th><th>未销号</th><th>逾期</th></tr></thead>
    <tbody>${[...rows].sort().map(([k, r]) => tr(k, r)).join('')}</tbody><tfoot>${tr('合计', total)}</tfoot></table>
    <p class="muted">已判定 ${total.legal + total.illegal + total.other}/${total.n}，违法占比 ${total.n ? ((total.illegal / total.n) * 100).toFixed(1) : 0}%</p>`;
}

// ------------------------------------------------------------------ card
function closeCard() {
  if (state.openCode === null) return;
  state.openCode = null;
  $('view-card').hidden = true;
  const active = document.querySelector('.tabs [aria-selected=true]')?.dataset.view ?? 'inbox';
  $(`view-${active}`).hidden = false;
  select(null);
  setUrl({ case: null });
}
$('card-back').addEventListener('click', closeCard);

async function openCard(code) {
  state.openCode = code;
  for (const v of ['inbox', 'overdue', 'ledger']) $(`view-${v}`).hidden = true;
  const view = $('view-card');
  view.hidden = false;
  $('card-code').textContent = code;
  $('card-status').textContent = '';
  $('card-body').innerHTML = '<p class="muted">加载中…</p>';
  setUrl({ case: code });
  let card;
  try {
    card = await api(`/api/polygons/${encodeURIComponent(code)}`);
  } catch (err) {
    $('card-body').innerHTML = `<p class="error">${err.status === 404 ? '没有这个图斑，或无权查看' : esc(err.message)}</p>`;
    return;
  }
  if (state.openCode !== code) return;
  renderCard(card);
  select(code, card);
  $('card-back').focus();
}

function canRecordVerdict(p, c) {
  const u = state.user;
  return u?.role === 'bureau' && u.bureau === (c?.lead_bureau ?? p.lead_bureau) && ['accepted', 'verified'].includes(c?.status ?? p.status);
}

function renderCard(card) {
  const p = card.properties;
  const c = card.case ?? {};
  const status = c.status ?? p.status;
  const st = $('card-status');
  st.textContent = L.STATUS[status] ?? status;
  st.style.background = L.STATUS_COLOR[status] ?? '#999';
  const r = card.routing ?? {};
  const overlaps = Object.entries(r.overlaps ?? p.overlaps ?? {})
    .filter(([k]) => k !== 'district')
    .sort((a, b) => b[1].m2 - a[1].m2)
    .map(([k, o]) => `<tr><th>${esc(L.ZONE_KINDS[k] ?? k)}</th><td>${((o.m2 * 15) / 10000).toFixed(2)} 亩</td><td>${fmtPct(o.share)}</td></tr>`)
    .join('');
  const chips = card.chips ?? {};
  const co = (r.co_bureaus ?? []).map((b) => esc(b.name ?? b)).join('、') || '无';
  const history = (card.history ?? [])
    .map((h) => `<li><time>${esc(String(h.at).slice(0, 16))}</time> <b>${esc(h.actor)}</b> ${esc(L.ACTIONS[h.action] ?? h.action)}${historyDetail(h)}</li>`)
    .join('');
  const verdictText = c.verdict ? `${L.VERDICTS[c.verdict]}${verdictDetail(c.verdict_details)}` : '未判定';
  $('card-body').innerHTML = `
    <figure class="compare" id="compare" aria-label="前后时相对比">
      <div class="compare-frame">
        <img id="chip-before" alt="前时相影像" class="chip">
        <div class="after-clip" id="after-clip"><img id="chip-after" alt="后时相影像" class="chip"></div>
        <div class="compare-line" id="compare-line"></div>
        <span class="chip-label left">前时相 <span id="date-before">${esc(chips.before_date ?? p.before_date ?? '')}</span></span>
        <span class="chip-label right">后时相 <span id="date-after">${esc(chips.after_date ?? p.after_date ?? '')}</span></span>
      </div>
      <input type="range" id="compare-range" min="0" max="100" value="50" aria-label="前后时相滑块 (左右方向键)">
    </figure>
    <dl class="facts">
      <dt>区县</dt><dd>${esc(p.district_name ?? '')} (${esc(p.district_code ?? '')})</dd>
      <dt>变化类型</dt><dd>${esc(L.CHANGE_TYPES[p.change_type] ?? p.change_type ?? '')} ${esc(p.change_class ?? '')}</dd>
      <dt>面积</dt><dd>${mu(p.area_mu)} 亩 (${Number(p.area_m2 ?? 0).toFixed(0)} m²)</dd>
      <dt>置信度</dt><dd>${fmtPct(p.confidence)}</dd>
      <dt>优先级</dt><dd>${esc(L.PRIORITY[p.priority] ?? p.priority ?? '')}${(p.priority_reasons ?? []).length ? ` — ${esc(p.priority_reasons.join('；'))}` : ''}</dd>
      <dt>办理期限</dt><dd class="${p.overdue ? 'overdue' : ''}">${esc(c.due_date ?? p.due_date ?? '—')}${p.overdue ? '（已逾期）' : ''}</dd>
      <dt>判定</dt><dd id="card-verdict">${esc(verdictText)}</dd>
      ${p.previous_code ? `<dt>往期图斑</dt><dd>${esc(p.previous_code)}</dd>` : ''}
    </dl>
    <h3>分派</h3>
    <dl class="facts">
      <dt>主办单位</dt><dd>${esc(r.lead_bureau_name ?? p.lead_bureau_name ?? p.lead_bureau ?? '')}</dd>
      <dt>协办单位</dt><dd>${co}</dd>
      <dt>分派理由</dt><dd>${esc(r.reason ?? p.routing_reason ?? '')} <span class="muted">${esc(r.rule_id ?? p.rule_id ?? '')}</span></dd>
    </dl>
    ${overlaps ? `<h3>叠加分析</h3><table class="table"><tbody>${overlaps}</tbody></table>` : ''}
    <div id="actions"></div>
    <h3>办理记录</h3>
    <ol class="history" id="history">${history || '<li class="muted">暂无记录</li>'}</ol>`;
  loadChips(p.code, chips);
  wireSlider();
  renderActions(p, c);
}

function verdictDetail(d) {
  if (!d) return '';
  if (d.approval_doc_no) return `（批准文号 ${d.approval_doc_no}）`;
  if (d.violation_type) return `（${L.VIOLATION_TYPES[d.violation_type] ?? d.violation_type}）`;
  if (d.situation || d.reason) return `（${L.OTHER_SITUATIONS[d.situation] ?? ''}${d.reason ? `：${d.reason}` : ''}）`;
  return '';
}

function historyDetail(h) {
  const a = h.after ?? {};
  const b = h.before ?? {};
  const bits = [];
  if (a.status && a.status !== b.status) bits.push(`${L.STATUS[b.status] ?? b.status ?? '—'} → ${L.STATUS[a.status] ?? a.status}`);
  if (a.verdict) bits.push(L.VERDICTS[a.verdict] ?? a.verdict);
  return bits.length ? ` <span class="muted">${esc(bits.join('，'))}</span>` : '';
}

async function loadChips(code, chips) {
  const base = `/api/polygons/${encodeURIComponent(code)}/chips`;
  await Promise.all(
    ['before', 'after'].map(async (side) => {
      const img = $(`chip-${side}`);
      try {
        const { url, date } = await authedImage(chips[side] ?? `${base}/${side}.png`);
        if (state.openCode !== code) return URL.revokeObjectURL(url);
        img.onload = () => img.classList.add('loaded');
        img.src = url;
        if (date) $(`date-${side}`).textContent = date;
      } catch {
        img.replaceWith(Object.assign(document.createElement('div'), { className: 'chip missing', textContent: '无影像' }));
      }
    }),
  );
}

function wireSlider() {
  const range = $('compare-range');
  const set = () => {
    $('after-clip').style.clipPath = `inset(0 0 0 ${range.value}%)`;
    $('compare-line').style.left = `${range.value}%`;
  };
  range.addEventListener('input', set);
  set();
  // Dragging on the image moves the divide too.
  const frame = document.querySelector('.compare-frame');
  const drag = (ev) => {
    const rect = frame.getBoundingClientRect();
    range.value = String(Math.round(((ev.clientX - rect.left) / rect.width) * 100));
    set();
  };
  frame.addEventListener('pointerdown', (ev) => {
    frame.setPointerCapture(ev.pointerId);
    drag(ev);
    frame.onpointermove = drag;
  });
  frame.addEventListener('pointerup', () => (frame.onpointermove = null));
}

function renderActions(p, c) {
  const box = $('actions');
  const u = state.user;
  const status = c.status ?? p.status;
  const mine = u?.role === 'bureau' && u.bureau === (c.lead_bureau ?? p.lead_bureau);
  const coHandler = u?.role === 'bureau' && !mine;
  const parts = [];
  if (mine && status === 'issued') parts.push(`<button type="button" class="primary" id="act-accept">签收</button>`);
  if (canRecordVerdict(p, c)) parts.push(c.verdict ? `<details class="more"><summary>修改判定</summary>${verdictForm()}</details>` : verdictForm());
  if (coHandler) parts.push('<p class="muted">本单位为协办单位：可添加备注和证据，判定由主办单位录入。</p>');
  // The other workflow actions, each a small form; the server decides what the state allows (409 otherwise).
  const forms = [];
  if (mine && c.verdict === 'illegal' && ['verified', 'rectifying'].includes(status)) forms.push(miniForm('rectification', '整改进度', `<label>整改方式 <select name="method" required><option value="">请选择</option>${options(L.RECTIFICATION_METHODS)}</select></label><label>完成比例 (%) <input name="progress" type="number" min="0" max="100" step="1" required></label>`));
  if (mine && ['verified', 'rectifying'].includes(status)) forms.push(miniForm('close', '销号', `<label>说明 <textarea name="reason" rows="2" required maxlength="2000"></textarea></label><label class="check"><input type="checkbox" name="rectified"> 已整改到位</label>`));
  if (mine && ['issued', 'accepted'].includes(status)) forms.push(miniForm('request-reassignment', '申请改派', `<label>理由 <textarea name="reason" rows="2" required maxlength="2000"></textarea></label><label>建议主办单位 <select name="suggested_bureau"><option value="">不指定</option>${options(L.BUREAUS)}</select></label>`));
  if (u?.role === 'lead' && status === 'closed') forms.push(miniForm('review', '复核', `<label class="check"><input type="radio" name="approve" value="true" required> 通过</label><label class="check"><input type="radio" name="approve" value="false"> 退回</label><label>意见 <textarea name="comment" rows="2" maxlength="2000"></textarea></label>`));
  if (u?.role === 'lead' && !['closed', 'reviewed'].includes(status)) {
    forms.push(miniForm('reassign', '改派', `<label>主办单位 <select name="lead_bureau" required><option value="">请选择</option>${options(L.BUREAUS)}</select></label><label>理由 <textarea name="reason" rows="2" required maxlength="2000"></textarea></label>`));
    forms.push(miniForm('escalate', '移交/升级', `<label>理由 <textarea name="reason" rows="2" required maxlength="2000"></textarea></label>`));
  }
  if (u?.role === 'lead' || mine || coHandler) forms.push(miniForm('notes', '备注', `<label>内容 <textarea name="text" rows="2" required maxlength="4000"></textarea></label>`));
  if (forms.length) parts.push(`<div class="more-actions">${forms.join('')}</div>`);
  box.innerHTML = parts.length ? `<h3>办理</h3>${parts.join('')}` : '';
  $('act-accept')?.addEventListener('click', () => act(p.code, 'accept', undefined, '已签收'));
  for (const f of box.querySelectorAll('form.mini')) {
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const el of f.elements) {
        if (!el.name || (el.type === 'radio' && !el.checked)) continue;
        if (el.type === 'checkbox') body[el.name] = el.checked;
        else if (el.type === 'number') body[el.name] = Number(el.value);
        else if (el.type === 'radio') body[el.name] = el.value === 'true';
        else if (el.value !== '') body[el.name] = el.value;
      }
      await act(p.code, f.dataset.action, body, `${f.dataset.label}已提交`);
    });
  }
  const form = $('verdict-form');
  if (!form) return;
  const sync = () => {
    const v = form.querySelector('input[name=verdict]:checked')?.value;
    for (const f of form.querySelectorAll('[data-for]')) {
      f.hidden = f.dataset.for !== v;
      for (const i of f.querySelectorAll('input,select,textarea')) i.required = f.dataset.for === v && i.dataset.required === '1';
    }
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const v = fd.get('verdict');
    const body = { verdict: v };
    if (v === 'legal') body.approval_doc_no = fd.get('approval_doc_no');
    if (v === 'illegal') body.violation_type = fd.get('violation_type');
    if (v === 'other') Object.assign(body, { situation: fd.get('situation'), reason: fd.get('reason') });
    const note = String(fd.get('note') ?? '').trim();
    if (note && v !== 'other') body.note = note;
    await act(p.code, 'verdict', body, '判定已保存');
  });
}

const options = (o) => Object.entries(o).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join('');

/** A collapsed form for one workflow action (POST /api/polygons/{code}/{action}). */
function miniForm(action, label, fields) {
  return `<details class="more"><summary>${esc(label)}</summary><form class="mini verdict" data-action="${action}" data-label="${esc(label)}">${fields}<button type="submit" class="primary">提交${esc(label)}</button></form></details>`;
}

function verdictForm() {
  const opts = options;
  return `<form id="verdict-form" class="verdict">
    <fieldset><legend>判定</legend>
      <label><input type="radio" name="verdict" value="legal" required> 合法</label>
      <label><input type="radio" name="verdict" value="illegal"> 违法</label>
      <label><input type="radio" name="verdict" value="other"> 其他</label>
    </fieldset>
    <label data-for="legal" hidden>批准文号 <input name="approval_doc_no" id="approval-doc" data-required="1" maxlength="100" placeholder="如 济政土批〔2026〕15号"></label>
    <label data-for="illegal" hidden>违法类型 <select name="violation_type" id="violation-type" data-required="1"><option value="">请选择</option>${opts(L.VIOLATION_TYPES)}</select></label>
    <div data-for="other" hidden>
      <label>情形 <select name="situation" id="other-situation" data-required="1"><option value="">请选择</option>${opts(L.OTHER_SITUATIONS)}</select></label>
      <label>理由 <textarea name="reason" id="other-reason" data-required="1" rows="2" maxlength="2000"></textarea></label>
    </div>
    <label>备注 <textarea name="note" rows="2" maxlength="2000"></textarea></label>
    <button type="submit" class="primary" id="verdict-submit">保存判定</button>
  </form>`;
}

async function act(code, action, body, done) {
  try {
    await api(`/api/polygons/${encodeURIComponent(code)}/${action}`, { method: 'POST', body: body ?? {} });
    toast(done, 'ok');
    await Promise.all([openCard(code), loadInbox(), loadCounts(), loadMapData()]);
  } catch (err) {
    toast(err.status === 409 ? `当前状态不允许此操作（${err.code ?? ''}）` : err.status === 403 ? '无权执行此操作' : `操作失败：${err.message}`, 'error');
  }
}

// ------------------------------------------------------------------ map
function imageryTiles(side) {
  return [`${location.origin}/api/imagery/${state.epoch}/${side}/{z}/{x}/{y}.png`];
}

function epochBounds() {
  return state.epochs.find((e) => e.epoch === state.epoch)?.bounds ?? null;
}

function initMap() {
  if (state.map) return;
  const b = epochBounds();
  const map = new maplibregl.Map({
    container: 'map',
    hash: 'map',
    // Tiles sit behind the bearer token; MapLibre's requests get the header here.
    transformRequest: (url) => (url.startsWith(`${location.origin}/api/`) && state.token ? { url, headers: { Authorization: `Bearer ${state.token}` } } : undefined),
    style: {
      version: 8,
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#1d2327' } }],
    },
    bounds: location.hash.includes('map=') || !b ? undefined : b,
    fitBoundsOptions: { padding: 20 },
    center: b ? [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] : [117, 36.67],
    zoom: 12,
    maxZoom: 19,
    fadeDuration: 0,
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('load', async () => {
    addImagery();
    // Vector tiles or GeoJSON by bbox, as the server offers (web/map-source.js).
    state.polygons = await polygonLayer(map, { api, epoch: () => state.epoch });
    const color = ['match', ['get', 'status'], ...Object.entries(L.STATUS_COLOR).flat(), '#999999'];
    map.addLayer({ id: 'poly-fill', type: 'fill', ...state.polygons.outlines, paint: { 'fill-color': color, 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.45, 0.25] } });
    map.addLayer({ id: 'poly-line', type: 'line', ...state.polygons.outlines, paint: { 'line-color': color, 'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3.5, 1.6] } });
    // Polygons of a few hundred m² vanish below z13: a dot at each centroid keeps them findable.
    map.addLayer({ id: 'poly-dot', type: 'circle', ...state.polygons.dots, maxzoom: 13, paint: { 'circle-color': color, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
    map.on('click', 'poly-dot', (e) => openCard(e.features[0].properties.code));
    map.on('click', 'poly-fill', (e) => openCard(e.features[0].properties.code));
    map.on('mouseenter', 'poly-fill', () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', 'poly-fill', () => (map.getCanvas().style.cursor = ''));
    map.on('moveend', () => {
      clearTimeout(initMap.t);
      initMap.t = setTimeout(() => loadMapData(true), 150);
    });
    state.mapReady = true;
    loadMapData();
  });
}

function addImagery() {
  const map = state.map;
  if (map.getLayer('imagery')) map.removeLayer('imagery');
  if (map.getSource('imagery')) map.removeSource('imagery');
  if (!state.epoch) return;
  const b = epochBounds();
  map.addSource('imagery', { type: 'raster', tiles: imageryTiles(state.side), tileSize: 256, ...(b ? { bounds: b } : {}), minzoom: 8, maxzoom: 18 });
  map.addLayer({ id: 'imagery', type: 'raster', source: 'imagery', paint: { 'raster-fade-duration': 0 } }, map.getLayer('poly-fill') ? 'poly-fill' : undefined);
}

function setImagery(side) {
  state.side = side;
  $('show-after').setAttribute('aria-checked', String(side === 'after'));
  $('show-before').setAttribute('aria-checked', String(side === 'before'));
  if (state.mapReady) addImagery();
}
$('show-after').addEventListener('click', () => setImagery('after'));
$('show-before').addEventListener('click', () => setImagery('before'));

function fitToEpoch() {
  const b = epochBounds();
  if (b && state.map) state.map.fitBounds(b, { padding: 20, animate: false });
}

/** Refresh the polygon layer: after a move (`moved`), or after a change of data or epoch. */
async function loadMapData(moved = false) {
  if (!state.mapReady || !state.epoch) return;
  await state.polygons.load(moved === true);
  state.polygons.select(state.selected, true);
}

function select(code, card) {
  const map = state.map;
  if (!state.mapReady) return;
  state.polygons.select(state.selected, false);
  state.selected = code;
  if (!code) return;
  state.polygons.select(code, true);
  const g = card?.geometry;
  if (g) {
    const pts = g.type === 'Point' ? [g.coordinates] : g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 120, maxZoom: 15, duration: 400 });
  }
}

// ------------------------------------------------------------------ keyboard
document.addEventListener('keydown', (ev) => {
  if (ev.target.closest('input, select, textarea') || ev.ctrlKey || ev.metaKey || ev.altKey || $('app').hidden) return;
  if (ev.key === 'Escape') return closeCard();
  if (ev.key === 'b' || ev.key === 'B') return setImagery(state.side === 'after' ? 'before' : 'after');
  if (state.openCode) return;
  const list = $('view-overdue').hidden ? $('inbox-list') : $('overdue-list');
  const buttons = [...list.querySelectorAll('button.item')];
  if (!buttons.length) return;
  if (ev.key === 'j' || ev.key === 'ArrowDown' || ev.key === 'k' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    const i = buttons.indexOf(document.activeElement);
    const next = ev.key === 'j' || ev.key === 'ArrowDown' ? Math.min(buttons.length - 1, i + 1) : Math.max(0, i - 1);
    buttons[next].focus();
  }
});

// ------------------------------------------------------------------ boot
(async () => {
  if (!state.token) return signOut();
  try {
    state.user = await api('/api/me');
    await start();
  } catch {
    signOut();
  }
})();
