// The polygon card: chips, facts, routing and overlaps, parcels, the actions the user may take,
// evidence, escalations and the history. Opened from the inbox, the overdue list or the map.
import { api, errorText } from './api.js';
import { compareHtml, loadChips, wireSlider } from './compare.js';
import { $, esc, fmtPct, fmtTime, isPointClue, lateText, m2, mu, setUrl } from './dom.js';
import { renderEvidence } from './evidence.js';
import * as L from './labels.js';
import { dropFit, select } from './map-layers.js';
import { showParcels, showPhotos } from './map-overlays.js';
import { renderActions } from './actions.js';
import { renderParcels } from './parcels.js';
import { emit, on, state } from './state.js';
import { activeView, VIEWS } from './views.js';

export function closeCard() {
  if (state.openCode === null) return;
  const code = state.openCode;
  state.openCode = null;
  state.card = null;
  $('view-card').hidden = true;
  const view = $(`view-${activeView()}`);
  view.hidden = false;
  select(null);
  showParcels([]);
  showPhotos([]);
  setUrl({ case: null });
  // Back where the user was: the item just closed has the focus, so J/K go on from it.
  view.querySelector(`button.item[data-code="${CSS.escape(code)}"]`)?.focus();
}

/** Open (or, after a write, re-render: `refit` false keeps the user's map view) the card of `code`. */
export async function openCard(code, { refit = true } = {}) {
  // While drawing, a click on a polygon is a vertex, not a request to open it.
  if (state.drawing) return;
  state.openCode = code;
  for (const v of VIEWS) $(`view-${v}`).hidden = true;
  $('view-card').hidden = false;
  $('card-code').textContent = code;
  // A re-render after a write keeps the old card (and where it was scrolled to) until the new one is in.
  const scroll = refit ? 0 : $('view-card').scrollTop;
  if (refit) {
    $('card-status').textContent = '';
    $('card-body').innerHTML = '<p class="muted">加载中…</p>';
  }
  setUrl({ case: code });
  // The map's selection follows the card being opened (its fit waits for the card), not the one shown.
  if (refit) select(code);
  let card;
  try {
    card = await api(`/api/polygons/${encodeURIComponent(code)}`);
  } catch (err) {
    // Another card opened meanwhile is the one shown, and fitted to: this one's failure is not its.
    if (state.openCode !== code) return;
    $('card-body').innerHTML = `<p class="error">${esc(errorText(err))}</p>`;
    dropFit();
    return;
  }
  if (state.openCode !== code) return;
  // A case of another month (a late one from the 逾期 tab, a 往期图斑 link): the page goes to its month,
  // this card kept open. Left on the month shown, its outline was not on the map (the polygon layer holds
  // one month), nor highlighted, over another month's imagery. Not waited for: the month's lists and
  // map load behind the card.
  const month = card.properties?.epoch;
  if (refit && month && month !== state.epoch) emit('month', month, { keep: code });
  state.card = card;
  renderCard(card);
  $('view-card').scrollTop = scroll;
  // Without the card, select only highlights: the map stays where the user zoomed to.
  select(code, refit ? card : undefined);
  if (refit) $('card-back').focus();
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
  const co = (r.co_bureaus ?? []).map((b) => esc(b.name ?? b)).join('、') || '无';
  const history = (card.history ?? [])
    .map((h) => `<li><time>${esc(fmtTime(h.at))}</time> <b>${esc(h.actor)}</b> ${esc(L.ACTIONS[h.action] ?? h.action)}${historyDetail(h)}</li>`)
    .join('');
  const verdictText = c.verdict ? `${L.VERDICTS[c.verdict]}${verdictDetail(c.verdict_details)}` : c.merged_into ? '随所并入案件判定' : '未判定';
  const clue = p.source && p.source !== 'satellite';
  $('card-body').innerHTML = `
    ${clue ? '' : compareHtml(card.chips ?? {}, p)}
    ${c.merged_into ? `<p class="info" id="card-merged">与往期图斑同一地块，已并入 ${openLink(c.merged_into)} 的案件办理，本图斑无需另行核查；如非同一地块，牵头局可拆出单独下发。</p>` : ''}
    ${!card.geometry && !clue ? `<p class="warn">复跑后已不再提取此图斑（图形灭失）${c.status === 'vanished' ? '，已撤销。' : '，请牵头局撤销。'}</p>` : p.geometry_changed ? '<p class="warn">复测后图形已变化，请牵头局确认判定是否仍然成立。</p>' : ''}
    <dl class="facts">
      <dt>区县</dt><dd>${esc(p.district_name ?? '')} (${esc(p.district_code ?? '')})</dd>
      ${p.township_name ? `<dt>乡镇/街道</dt><dd id="card-township">${esc(p.township_name)}${p.township_code ? ` (${esc(p.township_code)})` : ''}</dd>` : ''}
      ${p.village_name ? `<dt>村</dt><dd id="card-village">${esc(p.village_name)}${p.village_code ? ` (${esc(p.village_code)})` : ''}</dd>` : ''}
      ${clue ? `<dt>发现方式</dt><dd>${esc(L.CLUE_SOURCES[p.source] ?? p.source)}</dd><dt>线索描述</dt><dd>${esc(p.description ?? '')}</dd>` : `<dt>变化类型</dt><dd>${esc(L.CHANGE_TYPES[p.change_type] ?? p.change_type ?? '')} ${esc(p.change_class ?? '')}</dd>`}
      <dt>面积</dt><dd id="card-area">${isPointClue(p) ? '点位线索，未画范围' : `${mu(p.area_mu)} 亩 (${m2(p.area_m2)} m²)`}</dd>
      ${clue ? '' : `<dt>置信度</dt><dd>${fmtPct(p.confidence)}</dd>`}
      <dt>优先级</dt><dd>${esc(L.PRIORITY[p.priority] ?? p.priority ?? '')}${(p.priority_reasons ?? []).length ? ` — ${esc(p.priority_reasons.join('；'))}` : ''}</dd>
      <dt>办理期限</dt><dd class="${p.overdue ? 'overdue' : ''}">${esc(c.due_date ?? p.due_date ?? '—')}${p.review_overdue ? '<span id="card-review-late">（牵头局复核已逾期）</span>' : ''}${p.overdue ? `<span id="card-late">（${esc(lateText(p.days_overdue, state.deadlines?.rules?.[c.due_rule]?.kind) || '已逾期')}）</span>` : ''} <span class="muted">${esc(ruleText(c.due_rule, ''))}</span>${c.due_holidays_unknown ? `<div class="calendar-gap" id="card-calendar-gap">未载入 ${esc(c.due_holidays_unknown)} 年节假日安排，工作日按周一至周五推算，期限可能偏早</div>` : ''}</dd>
      <dt>判定</dt><dd id="card-verdict">${esc(verdictText)}</dd>
      ${rectificationFacts(c.rectification)}
      ${urgedHtml(card.history, p)}
      ${c.escalation_level ? `<dt>升级级别</dt><dd class="overdue" id="card-escalation">${c.escalation_level} 级</dd>` : ''}
      ${status === 'monitoring' ? monitoringHtml(c, card.later_cases) : ''}
      ${p.previous_code ? `<dt>往期图斑</dt><dd>${previousHtml(p.previous_code, card.previous_case)}</dd>` : ''}
      ${card.sightings?.length ? `<dt>后续监测</dt><dd id="card-sightings">${card.sightings.map(sightingHtml).join('<br>')}</dd>` : ''}
      ${card.later_cases?.length ? `<dt>后续图斑</dt><dd id="card-later">${card.later_cases.map(laterHtml).join('<br>')}</dd>` : ''}
    </dl>
    <h3>分派</h3>
    <dl class="facts">
      <dt>主办单位</dt><dd id="card-lead-bureau">${esc(r.lead_bureau_name ?? p.lead_bureau_name ?? p.lead_bureau ?? '')}</dd>
      <dt>协办单位</dt><dd>${co}</dd>
      <dt>分派理由</dt>${clue ? `<dd>线索（${esc(L.CLUE_SOURCES[p.source] ?? p.source)}）</dd>` : routingReasonHtml(r.reason ?? p.routing_reason, r.rule_id ?? p.rule_id)}
    </dl>
    ${overlaps ? `<h3>叠加分析</h3><table class="table"><tbody>${overlaps}</tbody></table>` : ''}
    <div id="parcels-box"></div>
    <div id="actions"></div>
    <div id="evidence-box"></div>
    ${escalationsHtml(card.escalations, card.handovers)}
    ${handoversHtml(card.handovers)}
    <h3>办理记录</h3>
    <ol class="history" id="history">${history || '<li class="muted">暂无记录</li>'}</ol>
    ${fieldSheetHtml(p)}`;
  if (!clue) {
    loadChips(p.code, card.chips ?? {});
    wireSlider();
  }
  renderParcels(card);
  renderActions(card);
  renderEvidence(card);
  showParcels(card.parcels);
  showPhotos(card.evidence);
}

/**
 * The blank half of the printed 外业核查表 (打印核查表): what the verifier fills in on site, under
 * the card's facts and both epochs' chips. Shown only on paper.
 */
function fieldSheetHtml(p) {
  const at = p.centroid_lon != null ? `${Number(p.centroid_lon).toFixed(6)}, ${Number(p.centroid_lat).toFixed(6)}` : '';
  const blank = '<td></td>';
  return `<section class="print-only field-sheet" id="field-sheet">
      <h3>外业核查记录</h3>
      <table class="sheet">
        <tr><th>中心点经纬度</th><td>${esc(at)}</td><th>核查日期</th>${blank}</tr>
        <tr><th>核查人</th>${blank}<th>联系电话</th>${blank}</tr>
        <tr><th>现场情况</th><td colspan="3" class="tall"></td></tr>
        <tr><th>实际用途</th>${blank}<th>当事人</th>${blank}</tr>
        <tr><th>判定意见</th><td colspan="3">□ 合法（批准文号：　　　　　　） □ 违法 □ 其他（说明：　　　　　　）</td></tr>
        <tr><th>核查人签字</th>${blank}<th>负责人签字</th>${blank}</tr>
      </table>
    </section>`;
}

/** A button that opens another polygon's card in this one (wireCard). */
/**
 * 分派理由: the rule's own words. Its id in the rule table (`forest_land`) is no word of the card a
 * bureau reads or prints for the field, only a tooltip for whoever maintains the table.
 */
function routingReasonHtml(reason, ruleId) {
  return `<dd id="card-routing-reason"${ruleId ? ` title="分派规则 ${esc(ruleId)}"` : ''}>${esc(reason ?? '')}</dd>`;
}

function openLink(code) {
  return `<button type="button" class="link" data-open="${esc(code)}">${esc(code)}</button>`;
}

/** The earlier site's code, and where its case stands when the user may see it (a link to its card). */
function previousHtml(code, prev) {
  if (!prev) return esc(code);
  const verdict = prev.verdict ? ` · ${esc(L.VERDICTS[prev.verdict] ?? prev.verdict)}` : '';
  // Under 持续监测: this polygon is the re-detection that case waits for.
  const m = prev.monitoring
    ? `<div class="info" id="card-previous-monitoring">往期图斑持续监测中${watchText(prev.monitoring.watch)}${prev.monitoring.recheck_by ? `，复查期限 ${esc(prev.monitoring.recheck_by)}` : ''}：本期再次监测到该地块，请结合往期情况核查判定。</div>`
    : '';
  return `${openLink(code)} <span class="muted">${esc(prev.epoch)} · ${esc(L.STATUS[prev.status] ?? prev.status)}${verdict}</span>${m}`;
}

const watchText = (w) => (w ? `（关注：${esc(w)}）` : '');

/** A case under 持续监测: what to watch for, by when, and whether a later batch has detected the site again. */
function monitoringHtml(c, later) {
  const watch = c.verdict_details?.watch;
  const again = (later ?? []).length
    ? `后续批次已再次监测到该地块（${later.map((x) => esc(x.code)).join('、')}），请对照复查并判定。`
    : '尚无后续批次再次监测到该地块；到期前对照下期影像复查。';
  return `<dt>持续监测</dt><dd id="card-monitoring">${watch ? `关注：${esc(watch)}；` : ''}复查期限 ${esc(c.due_date ?? '—')}。${again}</dd>`;
}

/** A later polygon of this site issued as its own case: its month and where it stands. */
function laterHtml(x) {
  return `${openLink(x.code)} <span class="muted">${esc(x.epoch)} · ${esc(L.STATUS[x.status] ?? x.status)}${x.verdict ? ` · ${esc(L.VERDICTS[x.verdict] ?? x.verdict)}` : ''}</span>`;
}

/** A later polygon of this site merged into this case: its month and area. */
function sightingHtml(s) {
  return `${openLink(s.code)} <span class="muted">${esc(s.epoch)}${s.area_m2 != null ? ` · ${m2(s.area_m2)} m²` : ''}</span>`;
}

function rectificationFacts(r) {
  if (!r) return '';
  const bits = [];
  if (r.method) bits.push(L.RECTIFICATION_METHODS[r.method] ?? r.method);
  if (r.progress != null) bits.push(`完成 ${r.progress}%`);
  if (r.case_filed === true) bits.push(r.case_filed_on ? `${r.case_filed_on} 立案` : '已立案');
  if (r.case_filed === true && r.fine_amount_yuan != null) bits.push(`罚没 ${Number(r.fine_amount_yuan).toFixed(2)} 元`);
  if (r.case_filed === true && r.court_enforcement === true) bits.push('已申请法院强制执行');
  if (r.restored_area_m2 != null) bits.push(`拆除复耕 ${m2(r.restored_area_m2)} m²`);
  if (r.retroactive_doc_no) bits.push(`补办手续 ${r.retroactive_doc_no}`);
  if (r.retroactive_area_m2 != null) bits.push(`补办手续面积 ${m2(r.retroactive_area_m2)} m²`);
  if (r.retroactive_farmland_m2 != null) bits.push(`其中耕地 ${m2(r.retroactive_farmland_m2)} m²`);
  if (r.case_filed === false) bits.push(r.not_filed_reason ? `不予立案（${r.not_filed_reason}）` : '未立案');
  if (r.files_due) bits.push(`案卷移交期限 ${r.files_due}`);
  const closure = r.closure ? `<dt>销号</dt><dd>${esc(r.closure.closed_on ?? '')} ${esc(r.closure.reason ?? '')}</dd>` : '';
  // The lead bureau's refusal of the last closure, until the bureau reports again or closes anew.
  const sentBack = r.sent_back ? `<dt>销号退回</dt><dd class="overdue" id="card-sent-back">${esc(r.sent_back.on ?? '')} ${esc(r.sent_back.comment ?? '')}</dd>` : '';
  return (bits.length ? `<dt>整改</dt><dd id="card-rectification">${esc(bits.join('，'))}</dd>` : '') + closure + sentBack;
}

/** 督办: how often the lead bureau urged this case since its last 改派 (as the list's `urged`), and the last time with its comment and 限期. */
function urgedHtml(history, p) {
  const all = history ?? [];
  const since = all.findLastIndex((h) => h.action === 'reassign');
  const urges = all.slice(since + 1).filter((h) => h.action === 'urge');
  if (!urges.length) return '';
  const last = urges.at(-1).after ?? {};
  return `<dt>督办</dt><dd class="overdue" id="card-urged">已督办 ${urges.length} 次，最近 ${esc(last.urged_on ?? p.last_urged_on ?? '')}${last.respond_by ? `，限 ${esc(last.respond_by)} 前办理` : ''}${last.comment ? `：${esc(last.comment)}` : ''}</dd>`;
}

/**
 * A deadline rule's name and clock as the server runs it (GET /api/deadlines `text`: a city's
 * `--deadlines` 整改（10 个工作日）), else labels.js's fixed name (the rules could not be read, or the
 * construction stage, which is no clock).
 */
const ruleText = (id, fallback) => state.deadlines?.rules?.[id]?.text ?? L.DEADLINE_RULES[id] ?? fallback;

function escalationsHtml(list, handovers) {
  if (!list?.length) return '';
  // A hand-over decided (manual, rule handover) is met once one to the commission is recorded.
  const handed = (handovers ?? []).find((h) => h.to === 'discipline');
  const met = (e) => (e.kind === 'manual' && e.rule === 'handover' && handed ? `<span class="met">（已于 ${esc(handed.handed_on)} 移送）</span>` : '');
  const rows = list
    .map((e) => `<tr><th>${esc(L.ESCALATION_KINDS[e.kind] ?? e.kind)}</th><td>${e.level} 级</td><td>${esc(ruleText(e.rule, e.rule ?? ''))}</td><td>${esc(e.due_date ?? '')}${met(e)}</td><td class="left">${esc(e.reason ?? '')}</td></tr>`)
    .join('');
  return `<h3>移交与升级</h3><table class="table" id="escalations"><thead><tr><th>类型</th><th>级别</th><th>依据</th><th>期限</th><th class="left">理由</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function handoversHtml(list) {
  if (!list?.length) return '';
  const rows = list.map((h) => `<tr><th>${esc(L.HANDOVER_RECIPIENTS[h.to] ?? h.to)}</th><td>${esc(h.handed_on)}</td><td class="left">${esc(h.reference ?? '')}</td><td class="left">${esc(h.note ?? '')}</td></tr>`).join('');
  return `<h3>已移送</h3><table class="table" id="handovers"><thead><tr><th>移送至</th><th>日期</th><th class="left">文号</th><th class="left">说明</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function verdictDetail(d) {
  if (!d) return '';
  if (d.parcels) return d.violation_nature ? `（按地块判定；${L.VIOLATION_NATURES[d.violation_nature] ?? d.violation_nature}）` : '（按地块判定）';
  // What the verdict recorded, 当事人 and 实际用途 included: the ledger's columns, and what 修改判定 keeps.
  const use = d.actual_use ? `；实际用途 ${d.actual_use}` : '';
  if (d.approval_doc_no) return `（批准文号 ${d.approval_doc_no}${use}）`;
  if (d.violation_type) {
    const type = `${L.VIOLATION_TYPES[d.violation_type] ?? d.violation_type}${d.violation_subtype ? `（${L.VIOLATION_SUBTYPES[d.violation_subtype] ?? d.violation_subtype}）` : ''}`;
    return `（${type}${d.violation_nature ? `；${L.VIOLATION_NATURES[d.violation_nature] ?? d.violation_nature}` : ''}${d.party ? `；当事人 ${d.party}` : ''}${use}${d.patrol_found_on ? `；巡查 ${d.patrol_found_on} 发现` : '；巡查未发现'}）`;
  }
  if (d.situation || d.reason) return `（${L.OTHER_SITUATIONS[d.situation] ?? ''}${d.reason ? `：${d.reason}` : ''}）`;
  return '';
}

function historyDetail(h) {
  const a = h.after ?? {};
  const b = h.before ?? {};
  const bits = [];
  if (a.status && a.status !== b.status) bits.push(`${L.STATUS[b.status] ?? b.status ?? '—'} → ${L.STATUS[a.status] ?? a.status}`);
  if (a.parcel) bits.push(`地块 ${a.parcel}`);
  if (a.verdict) bits.push(L.VERDICTS[a.verdict] ?? a.verdict);
  if (a.lead_bureau && a.lead_bureau !== b.lead_bureau) bits.push(`主办 ${L.BUREAUS[a.lead_bureau] ?? a.lead_bureau}`);
  if (Array.isArray(a.parcels)) bits.push(`${a.parcels.length} 个地块`);
  if (a.evidence?.file_name) bits.push(a.evidence.file_name);
  if (a.progress != null) bits.push(`${a.progress}%`);
  if (a.reason) bits.push(a.reason);
  if (a.text) bits.push(a.text);
  if (a.comment) bits.push(a.comment);
  if (a.watch) bits.push(`关注：${a.watch}`);
  // 持续监测's re-check: the date a verdict chose, or a move from the old date to the new.
  if (h.action === 'recheck_date') bits.push(`复查期限 ${a.recheck_from ?? '—'} → ${a.recheck_on}`);
  else if (a.recheck_on) bits.push(`复查期限 ${a.recheck_on}`);
  if (a.merged_into) bits.push(`并入 ${a.merged_into}`);
  // A 纪委 case-file clock past its day dropped as a mistake (党员/公职人员 or 处罚决定日期 corrected): the reason given.
  if (a.files_clock_correction) bits.push(`撤销案卷移交纪委期限${a.files_due_dropped ? ` ${a.files_due_dropped}` : ''}（更正原因：${a.files_clock_correction}）`);
  // 移送: to whom, on which day, under which 文号 (the history said only 移送).
  if (h.action === 'urge' && a.respond_by) bits.push(`限 ${a.respond_by} 前办理`);
  if (h.action === 'hand_over') bits.push(...[a.to && `移送${L.HANDOVER_RECIPIENTS[a.to] ?? a.to}`, a.handed_on, a.reference, a.note].filter(Boolean));
  if (h.action === 'site.seen_again' || h.action === 'site.separated') bits.push(`${a.code}${a.epoch ? `（${a.epoch}，${m2(a.area_m2)} m²）` : ''}`);
  return bits.length ? ` <span class="muted">${esc(bits.join('，'))}</span>` : '';
}

export function wireCard() {
  $('card-back').addEventListener('click', closeCard);
  $('card-print').addEventListener('click', () => window.print());
  // A link to another card inside this one (the earlier site of a continuing polygon).
  $('card-body').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-open]');
    if (b) emit('open', b.dataset.open);
  });
  on('open', openCard);
}
