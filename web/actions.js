// The card's actions, one small form per workflow route the user may take in the polygon's state
// (POST /api/polygons/{code}/{action}). The server decides in the end (403/409 otherwise); the page
// only leaves out what cannot succeed.
import { api, errorText } from './api.js';
import { $, chinaToday, esc, oneClick, options, toast } from './dom.js';
import * as L from './labels.js';
import { emit, state } from './state.js';
import { verdictFormHtml, wireVerdictForm } from './verdict-form.js';
import { editsBesides, restoreDraft, restoreTyped } from './drafts.js';

/** The user's relation to the card: the polygon's lead bureau, a co-handling bureau, the lead role. */
export function relation(card) {
  const u = state.user;
  const c = card.case ?? {};
  const lead = c.lead_bureau ?? card.properties.lead_bureau;
  const mine = u?.role === 'bureau' && u.bureau === lead;
  return { mine, coHandler: u?.role === 'bureau' && !mine, oversee: u?.role === 'lead', status: c.status ?? card.properties.status };
}

/** A refusal because the case is no longer this user's to handle (404 out of their scope, 403 no longer its lead bureau). */
const GONE = '您已无权办理此图斑（可能已改派给其他单位），您的提交未保存；页面已显示最新状态';

/**
 * POST one action, then refresh the card, the lists and the map. `refused(err)` may put a refusal in
 * the words of the form that was sent (else errorText's). The form's fields are kept on a refusal,
 * except when the case changed since the card was loaded: `version` (the card's case.version, sent
 * as If-Match) makes the server refuse it (CASE.STALE) rather than overwrite a colleague's change,
 * and the card is loaded again to show what changed.
 */
export async function act(code, action, body, done, refused, version) {
  let r;
  try {
    const headers = version == null ? {} : { 'If-Match': `"${version}"` };
    r = await api(`/api/polygons/${encodeURIComponent(code)}/${action}`, { method: 'POST', body: body ?? {}, headers });
  } catch (err) {
    // 404 / 403 to a form the card offered: the case left this user's reach since it was loaded (改派 to
    // another bureau). The card showed it as before, form and all, and the list kept it: both are redrawn.
    const gone = ['POLYGON.NOT_FOUND', 'CASE.NOT_LEAD'].includes(err.code);
    toast(refused?.(err) ?? (gone ? GONE : errorText(err)), 'error');
    if (gone) {
      await emit('changed', code).catch(() => undefined);
      return null;
    }
    if (err.code === 'CASE.STALE') {
      // Show the case as it now is, with what the user had changed still in its forms (only that:
      // the rest, as the old card drew it, would send the colleague's change back unseen).
      const typed = editsBesides(null);
      await emit('changed', code).catch(() => undefined);
      if (state.openCode === code) restoreTyped(typed);
    }
    return null;
  }
  toast(done, 'ok');
  // The card is drawn again: what was typed in its other forms, not yet sent, goes back in (not the form just sent).
  const typed = editsBesides(action === 'verdict' ? 'verdict-form' : action);
  // Saved: a refresh that fails afterwards must not read as a failed save (and invite a second one).
  await emit('changed', code).catch(() => toast(`${done}；但页面未能刷新，请重新加载页面查看最新状态`, 'error'));
  if (state.openCode === code) restoreTyped(typed);
  return r;
}

/**
 * A closure the server refused (409), in the order it checks (server/workflow/actions.ts close):
 * rectification short of 100 %, 已整改到位 unticked, then a filed case (立案, perhaps marked by a
 * colleague since this card was opened) whose 处罚已执行 is unticked.
 */
function closeRefusal(err, body, c, status) {
  // A case changed since the card was loaded is told as such (errorText), whatever the form says.
  if (err.status !== 409 || err.code === 'CASE.STALE' || c.verdict !== 'illegal') return null;
  const progress = Number(c.rectification?.progress ?? 0);
  if (status === 'rectifying' && progress < 100) return `未能销号：整改完成比例为 ${progress}%，须达到 100% 方可销号，请先更新整改进度`;
  if (body.rectified === false) return '未能销号：违法图斑须整改到位方可销号，请确认整改到位后勾选「已整改到位」';
  if (body.penalty_done === false) return '未能销号：本案已立案，须处罚执行到位方可销号；处罚执行后请勾选「处罚已执行」再提交';
  return null;
}

/** 移送日期 after the server's today (VALIDATION): the form's max says the same, from this computer's clock. */
function handOverRefusal(err) {
  return err.code === 'VALIDATION' && /handed_on/.test(err.message) ? '移送日期不能晚于今天：请在移送完成后登记' : null;
}

/** A 持续监测 re-check date the server refused: outside its bounds (VALIDATION, with them), or a re-check already late (moved no more). */
function recheckRefusal(err) {
  if (err.code === 'VALIDATION' && err.body?.field === 'recheck_on') {
    return err.body.latest ? `复查期限须在 ${err.body.earliest} 至 ${err.body.latest} 之间` : '复查期限由使地块转入持续监测的判定设定：请在最后一个地块判定时填写，或在转入后调整';
  }
  if (err.code === 'CASE.BAD_STATE' && err.body?.due_date) return `复查期限 ${err.body.due_date} 已过，不能再调整：请录入复查判定（仍无法判定的，再次选择持续监测即设定下次复查期限）`;
  return null;
}

/** What a field was drawn with (the case as recorded): a select's drawn choice, else the input's default value. */
function drawnValue(el) {
  if (el.tagName === 'SELECT') return [...el.options].find((o) => o.defaultSelected)?.value ?? '';
  return el.defaultValue.trim();
}

/** A collapsed form for one workflow action. */
function miniForm(action, label, fields, open = false) {
  return `<details class="more" id="more-${action}"${open ? ' open' : ''}><summary>${esc(label)}</summary><form class="mini verdict" data-action="${action}" data-label="${esc(label)}">${fields}<button type="submit" class="primary" id="submit-${action}">提交${esc(label)}</button></form></details>`;
}

/**
 * 立案 / 不予立案 as one choice (未定 until decided), with the 不予立案说明 the ledger carries: required
 * when not filing, sent only then (the server refuses a reason with a filed case); and a filed case's
 * 立案日期, 罚没金额 and 申请法院强制执行, shown and sent only with 已立案 (the server refuses them otherwise).
 */
function filingFields(r) {
  const choice = (value, label, on) => `<label class="check"><input type="radio" name="case_filed" value="${value}"${on ? ' checked' : ''}> ${label}</label>`;
  const filed = r.case_filed === true;
  return `<div class="radios" id="filing">立案情况 ${choice('', '未定', r.case_filed == null)}${choice('true', '已立案', filed)}${choice('false', '不予立案', r.case_filed === false)}</div>
         <label id="not-filed-reason"${r.case_filed === false ? '' : ' hidden'}>不予立案说明 <input name="not_filed_reason" maxlength="500" pattern=".*\\S.*" title="请填写不予立案的理由" placeholder="如：超过追诉时效、不属本部门管辖" value="${esc(r.not_filed_reason ?? '')}"${r.case_filed === false ? ' required' : ''}></label>
         <div id="filed-facts"${filed ? '' : ' hidden'}>
           <label>立案日期 <input name="case_filed_on" type="date" max="${chinaToday()}" value="${esc(r.case_filed_on ?? '')}"></label>
           <label>罚没金额（元） <input name="fine_amount_yuan" type="number" min="0" step="0.01" value="${esc(r.fine_amount_yuan ?? '')}"></label>
           <label class="check"><input type="checkbox" name="court_enforcement"${r.court_enforcement ? ' checked' : ''}> 已申请人民法院强制执行</label>
         </div>`;
}

function wireFilingFields(box) {
  const label = box?.querySelector('#not-filed-reason');
  if (!label) return;
  const input = label.querySelector('input');
  const facts = box.querySelector('#filed-facts');
  const show = () => {
    const choice = box.querySelector('input[name=case_filed]:checked')?.value;
    label.hidden = choice !== 'false';
    input.required = choice === 'false';
    facts.hidden = choice !== 'true';
    // Sent only with their decision: a hidden field is disabled, so the form leaves it out.
    input.disabled = label.hidden;
    for (const el of facts.querySelectorAll('input')) el.disabled = facts.hidden;
  };
  for (const radio of box.querySelectorAll('input[name=case_filed]')) radio.addEventListener('change', show);
  show();
}

/** 整改方式 that seek a retroactive approval (补办手续, 拆补组合): only they carry its 文号, 面积 and 其中耕地面积 (the server refuses them otherwise). */
const RETROACTIVE_METHODS = ['retroactive_approval', 'combined'];

function retroactiveFields(r) {
  const on = RETROACTIVE_METHODS.includes(r.method);
  return `<div id="retroactive-facts"${on ? '' : ' hidden'}>
           <label>补办手续批准文号 <input name="retroactive_doc_no" maxlength="100" pattern=".*\\S.*" value="${esc(r.retroactive_doc_no ?? '')}"></label>
           <label>补办手续批准面积（平方米） <input name="retroactive_area_m2" type="number" min="0" step="0.01" value="${esc(r.retroactive_area_m2 ?? '')}"></label>
           <label>其中耕地面积（平方米） <input name="retroactive_farmland_m2" type="number" min="0" step="0.01" value="${esc(r.retroactive_farmland_m2 ?? '')}"></label>
         </div>`;
}

/** Show 补办手续's fields with a method that seeks an approval; hidden ones are disabled, so the form leaves them out. */
function wireRetroactiveFields(box) {
  const facts = box?.querySelector('#retroactive-facts');
  const method = box?.querySelector('select[name=method]');
  if (!facts || !method) return;
  const show = () => {
    facts.hidden = !RETROACTIVE_METHODS.includes(method.value);
    for (const el of facts.querySelectorAll('input')) el.disabled = facts.hidden;
  };
  method.addEventListener('change', show);
  show();
}

/**
 * The 纪委 case files' day (案卷移交期限) passed with no handover recorded (the card's files_overdue):
 * unticking 党员/公职人员 or clearing 处罚决定日期 drops that clock, which the server takes only with the
 * reason it was a mistake (files_clock_correction, kept in the history); files handed over are recorded
 * as a 移送 instead. Shown, required and sent only when the form drops the clock. Drawn for any day not
 * handed over: one still ahead when the card was loaded may have passed by the time the form is edited
 * (wireFilesCorrection asks today's date then; the server refused the form with no field to answer it).
 */
function filesCorrectionField(c, handovers) {
  const r = c.rectification ?? {};
  const handed = (handovers ?? []).some((h) => h.to === 'discipline' && h.handed_on >= (r.penalty_decided_on ?? ''));
  if (!c.files_overdue && (typeof r.files_due !== 'string' || handed)) return '';
  return `<div id="files-correction" data-due="${esc(r.files_due ?? '')}"${c.files_overdue ? ' data-overdue' : ''} hidden>
           <p class="muted hint">案卷移交纪委期限 ${esc(c.rectification?.files_due ?? '')} 已过且未登记移交：如案卷已移交纪委，请由牵头局在「移送」中登记；如勾选党员/公职人员或处罚决定日期有误，请填写更正原因（记入办理记录）。</p>
           <label>更正原因（移交纪委期限已过） <textarea name="files_clock_correction" rows="2" required maxlength="500" disabled></textarea></label>
         </div>`;
}

function wireFilesCorrection(box) {
  const field = box?.querySelector('#files-correction');
  if (!field) return;
  const official = box.querySelector('input[name=party_official]');
  const decided = box.querySelector('input[name=penalty_decided_on]');
  const why = field.querySelector('textarea');
  const show = () => {
    // Passed by the server's today when the card was loaded, or by today's now (midnight came since).
    const passed = field.dataset.overdue !== undefined || field.dataset.due < chinaToday();
    // Unticked, cleared or re-dated (the recorded day is the input's default): each ends the passed clock.
    field.hidden = !passed || (official.checked && decided.value !== '' && decided.value === decided.defaultValue);
    why.disabled = field.hidden;
  };
  for (const el of [official, decided]) for (const type of ['change', 'input']) el.addEventListener(type, show);
  // Asked again as the form is sent (before the browser checks it): the day may have passed since the last edit.
  box.querySelector('button[type=submit]')?.addEventListener('click', show);
  show();
}

/** A rectification's dates or area the server refused (400), in words; the form's own limits catch most before. */
function rectificationRefusal(err) {
  // The 纪委 case files' day passed (the card was loaded before it, or a colleague's handover was undone).
  if (err.code === 'CASE.BAD_STATE' && /files_clock_correction/.test(err.message)) {
    return `案卷移交纪委期限${err.body?.files_due ? ` ${err.body.files_due}` : ''} 已过且未登记移交：如案卷已移交，请由牵头局先登记移送；如勾选党员/公职人员或处罚决定日期有误，请刷新页面后填写更正原因`;
  }
  if (/files_clock_correction goes with/.test(err.message)) return '移交纪委期限未过或已登记移交，无需填写更正原因；请刷新页面后重新提交';
  if (err.code !== 'VALIDATION') return null;
  if (/case_filed_on \S+ is after today/.test(err.message)) return '立案日期不能晚于今天';
  if (/case_filed_on \S+ is before/.test(err.message)) return '立案日期早于图斑下发（或巡查首次发现）日期，请核对年份';
  if (/penalty_decided_on \S+ is after today/.test(err.message)) return '处罚决定日期不能晚于今天';
  if (/penalty_decided_on \S+ is before case_filed_on/.test(err.message)) return '处罚决定日期不能早于立案日期';
  if (/restored_area_m2 \S+ m² \+ retroactive_area_m2 \S+ m² = \S+ m² is more than/.test(err.message)) {
    return `拆除复耕面积与补办手续批准面积之和超过图斑监测面积的 1.5 倍${err.body.max_m2 != null ? `（最多 ${err.body.max_m2} 平方米）` : ''}：拆补组合中拆除部分与补办部分同属一个地块，请核对面积`;
  }
  if (/restored_area_m2 \S+ m² is more than/.test(err.message)) {
    return `拆除复耕面积超过图斑监测面积的 1.5 倍${err.body.max_m2 != null ? `（最多 ${err.body.max_m2} 平方米）` : ''}：请以平方米填写（1 亩 ≈ 666.67 平方米）`;
  }
  if (/retroactive_area_m2 \S+ m² is more than/.test(err.message)) {
    return `补办手续批准面积超过图斑监测面积的 1.5 倍${err.body.max_m2 != null ? `（最多 ${err.body.max_m2} 平方米）` : ''}：请以平方米填写（1 亩 ≈ 666.67 平方米）`;
  }
  if (/retroactive_farmland_m2 \S+ m² is more than retroactive_area_m2/.test(err.message)) return '其中耕地面积不能大于补办手续批准面积';
  if (/retroactive_farmland_m2 \S+ m² is more than/.test(err.message)) {
    return `其中耕地面积超过图斑监测面积的 1.5 倍${err.body.max_m2 != null ? `（最多 ${err.body.max_m2} 平方米）` : ''}：请以平方米填写（1 亩 ≈ 666.67 平方米）`;
  }
  return null;
}

const reason = (label = '理由') => `<label>${label} <textarea name="reason" rows="2" required maxlength="2000"></textarea></label>`;

export function renderActions(card) {
  const box = $('actions');
  const p = card.properties;
  const c = card.case ?? {};
  const { mine, coHandler, oversee, status } = relation(card);
  const parts = [];
  if (mine && status === 'issued') parts.push(`<button type="button" class="primary" id="act-accept">签收</button>`);
  if (mine && ['accepted', 'verified'].includes(status)) {
    const parcels = card.parcels ?? [];
    const correcting = c.verdict && !parcels.some((x) => !x.verdict);
    // 修改判定 opens with the verdict as recorded (a split polygon's is per parcel: the parcel chosen in the form brings its own, wireVerdictForm).
    const form = verdictFormHtml(parcels, c.recheck_window, correcting && !parcels.length ? c : null);
    parts.push(correcting ? `<details class="more"><summary>修改判定</summary>${form}</details>` : form);
  }
  // 持续监测: re-checked against later imagery, then judged (合法/违法/其他), or monitored on to the next re-check.
  if (mine && status === 'monitoring') parts.push(`<details class="more" id="monitoring-verdict" open><summary>复查判定</summary>${verdictFormHtml(card.parcels ?? [], c.recheck_window)}</details>`);
  if (coHandler) parts.push('<p class="muted">本单位为协办单位：可添加备注和证据，判定由主办单位录入。</p>');
  const forms = [];
  if (mine && c.verdict === 'illegal' && ['verified', 'rectifying'].includes(status)) {
    const r = c.rectification ?? {};
    forms.push(
      miniForm(
        'rectification',
        '整改进度',
        `<label>整改方式 <select name="method" required><option value="">请选择</option>${options(L.RECTIFICATION_METHODS, r.method)}</select></label>
         <label>完成比例（%） <input name="progress" type="number" min="0" max="100" step="1" required value="${esc(r.progress ?? '')}"></label>
         ${filingFields(r)}
         <label class="check"><input type="checkbox" name="party_official"${r.party_official ? ' checked' : ''}> 当事人含党员干部、公职人员（处罚决定后30日内向纪委监委移送案卷）</label>
         <label>处罚决定日期 <input name="penalty_decided_on" type="date" max="${chinaToday()}" value="${esc(r.penalty_decided_on ?? '')}"></label>
         ${filesCorrectionField(c, card.handovers)}
         <label>拆除复耕面积（平方米） <input name="restored_area_m2" type="number" min="0" step="0.01" value="${esc(r.restored_area_m2 ?? '')}"></label>
         ${retroactiveFields(r)}
         <label>违法性质 <select name="violation_nature"><option value="">未定</option>${options(L.VIOLATION_NATURES, c.verdict_details?.violation_nature)}</select></label>
         <label>说明 <textarea name="note" rows="2" maxlength="2000"></textarea></label>`,
        status === 'verified',
      ),
    );
  }
  if (mine && ['verified', 'rectifying'].includes(status) && !(status === 'verified' && c.verdict === 'illegal')) {
    // 销号 of a violation needs 已整改到位 and, once the case is filed (立案), 处罚已执行: the server refuses it otherwise (409).
    const filed = c.rectification?.case_filed === true;
    const illegal = c.verdict === 'illegal'
      ? `<label class="check"><input type="checkbox" name="rectified" checked required> 已整改到位</label><label class="check"><input type="checkbox" name="penalty_done"${filed ? ' required' : ''}> 处罚已执行</label>${filed ? '<p class="muted" id="close-penalty-note">本案已立案：处罚执行到位后方可销号。</p>' : ''}`
      : '';
    forms.push(miniForm('close', '销号', `${reason('说明')}${illegal}`));
  }
  // 持续监测: the re-check moved (a site that needs a later month's imagery, or an earlier look), up to the bound set when it was put under monitoring.
  // Not once it is late (the server refuses it, 409; the date field's min would stop it first, unexplained):
  // the re-check is recorded instead, and the card says so. Late by the server's today, the verdict window's earliest.
  const recheckLate = status === 'monitoring' && c.due_date != null && c.due_date < (c.recheck_window?.earliest ?? chinaToday());
  if (mine && recheckLate) forms.push(`<p class="muted hint" id="recheck-late">复查期限 ${esc(c.due_date)} 已过，不能再调整：请在上方「复查判定」录入复查结果（仍无法判定的，再次选择持续监测即设定下次复查期限）。</p>`);
  if (mine && status === 'monitoring' && c.recheck_latest && !recheckLate) {
    forms.push(
      miniForm(
        'recheck-date',
        '调整复查期限',
        `<p class="muted hint">当前复查期限 ${esc(c.due_date ?? '—')}；可提前，或延后至 ${esc(c.recheck_latest)}；记入办理记录。逾期后不能调整，请录入复查判定。</p>
         <label>新复查期限 <input name="recheck_on" type="date" required min="${esc(c.recheck_window?.earliest ?? chinaToday())}" max="${esc(c.recheck_latest)}" value="${esc(c.due_date ?? '')}"></label>
         ${reason('调整理由')}`,
      ),
    );
  }
  // Also under 持续监测: a site judged by the wrong bureau is handed on (its verdict goes with the 改派).
  if (mine && ['issued', 'accepted', 'monitoring'].includes(status)) forms.push(miniForm('request-reassignment', '申请改派', `${reason()}<label>建议主办单位 <select name="suggested_bureau"><option value="">不指定</option>${options(L.BUREAUS)}</select></label>`));
  if (oversee && status === 'closed') forms.push(miniForm('review', '复核', `<div class="radios"><label class="check"><input type="radio" name="approve" value="true" required> 通过</label><label class="check"><input type="radio" name="approve" value="false"> 退回</label></div><label>意见 <textarea name="comment" rows="2" maxlength="2000"></textarea></label>`, true));
  if (oversee && ['issued', 'accepted', 'monitoring', 'reassignment_requested'].includes(status)) {
    const asked = (card.history ?? []).findLast?.((h) => h.action === 'request_reassignment')?.after ?? {};
    const cleared = c.verdict ? '<p class="muted" id="reassign-verdict-note">改派后原判定清除，由新主办单位重新核查判定。</p>' : '';
    forms.push(miniForm('reassign', '改派', `${asked.reason ? `<p class="muted">申请理由：${esc(asked.reason)}</p>` : ''}${cleared}<label>主办单位 <select name="lead_bureau" required><option value="">请选择</option>${options(L.BUREAUS, asked.suggested_bureau)}</select></label>${reason()}`, status === 'reassignment_requested'));
  }
  const settled = L.SETTLED.includes(status);
  if (oversee && status === 'merged') forms.push(miniForm('separate', '拆出单独下发', reason('说明（如：相邻新建，非同一地块）'), true));
  // 督办: presses the bureau (recorded, dated); no state, clock or hand-over changes. Not on a closure: that waits on the lead bureau's own review.
  if (oversee && ['issued', 'accepted', 'verified', 'monitoring', 'rectifying', 'reassignment_requested'].includes(status)) {
    forms.push(
      miniForm(
        'urge',
        '督办',
        `<p class="muted hint">督促主办单位办理：记入办理记录，不改变状态、期限和升级级别。</p>
         <label>督办意见 <textarea name="comment" rows="2" required maxlength="2000"></textarea></label>
         <label>限期（可选） <input name="respond_by" type="date" min="${chinaToday()}"></label>`,
      ),
    );
  }
  if (oversee && !settled) forms.push(miniForm('escalate', '移交/升级', `<p class="muted hint">决定移交或升级：移交期限 15 日；移交完成后在「移送」中登记。</p>${reason()}<label>级别（1–5，留空则升一级） <input name="level" type="number" min="1" max="5" step="1"></label>`));
  // 移送 is recorded once done (是否移送纪委监委, its 时间 and 理由 in the ledger read it), also after the closure is reviewed.
  if (oversee && (!settled || status === 'reviewed')) {
    forms.push(
      miniForm(
        'hand-over',
        '移送',
        `<p class="muted hint">登记已完成的移送（台账「是否移送纪委监委」「移送纪委监委时间」「移送纪委监委理由」「是否移送公安」据此填写）。</p>
         <label>移送至 <select name="to" required><option value="">请选择</option>${options(L.HANDOVER_RECIPIENTS)}</select></label>
         <label>移送日期 <input name="handed_on" type="date" required value="${chinaToday()}" max="${chinaToday()}"></label>
         <label>文号 <input name="reference" maxlength="200"></label>
         <label>移送理由 <textarea name="note" rows="2" maxlength="2000"></textarea></label>`,
      ),
    );
  }
  // A re-run no longer finds the polygon: there is no outline to confirm, only the case to withdraw (图形灭失).
  const gone = !card.geometry;
  if (oversee && p.geometry_changed && !gone) forms.push(miniForm('confirm-geometry', '确认图形变更', '<label>意见 <textarea name="comment" rows="2" maxlength="2000"></textarea></label>', true));
  if (oversee && gone && !settled) forms.push(miniForm('withdraw', '图形灭失，撤销', reason('说明（如：复跑后不再提取）'), true));
  if (oversee || mine || coHandler) forms.push(miniForm('notes', '备注', `<label>内容 <textarea name="text" rows="2" required maxlength="4000"></textarea></label>`));
  if (forms.length) parts.push(`<div class="more-actions">${forms.join('')}</div>`);
  box.innerHTML = parts.length ? `<h3>办理</h3>${parts.join('')}` : '';
  const refusals = { close: (err, body) => closeRefusal(err, body, c, status), 'hand-over': handOverRefusal, rectification: rectificationRefusal, 'recheck-date': recheckRefusal };
  // Decisions are made on the card as loaded: sent with its version, so a colleague's change since is
  // refused (CASE.STALE), not overwritten. Notes and hand-overs add to the case and are sent as they are.
  const guarded = (action) => (['notes', 'hand-over'].includes(action) ? undefined : c.version);
  $('act-accept')?.addEventListener('click', (ev) => oneClick(ev.currentTarget, () => act(p.code, 'accept', undefined, '已签收', undefined, c.version)));
  for (const f of box.querySelectorAll('form.mini')) {
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const el of f.elements) {
        if (!el.name || el.disabled || (el.type === 'radio' && !el.checked)) continue;
        if (el.type === 'checkbox') body[el.name] = el.checked;
        // A radio without a value (未定) leaves the field out: the case keeps what it had.
        else if (el.type === 'radio') el.value !== '' && (body[el.name] = el.value === 'true');
        // A 整改进度 figure the form showed as recorded, now emptied, is cleared (null): the server keeps
        // what a report leaves out, so the mistaken fine stayed on the case under 整改进度已提交.
        else if (el.value.trim() === '') f.dataset.action === 'rectification' && drawnValue(el) !== '' && (body[el.name] = null);
        else if (el.type === 'number') body[el.name] = Number(el.value);
        else body[el.name] = el.value.trim();
      }
      const action = f.dataset.action;
      await oneClick(f.querySelector('button[type=submit]'), () => act(p.code, action, body, `${f.dataset.label}已提交`, refusals[action] && ((err) => refusals[action](err, body)), guarded(action)));
    });
  }
  wireFilingFields($('more-rectification'));
  wireRetroactiveFields($('more-rectification'));
  wireFilesCorrection($('more-rectification'));
  const vf = $('verdict-form');
  // A parcel chosen in the verdict form (修改判定 of a split polygon) brings its verdict as recorded; not in a 复查判定, judged afresh.
  const recorded = status === 'monitoring' ? null : card.parcels;
  if (vf) wireVerdictForm(vf, (body) => oneClick(vf.querySelector('button[type=submit]'), () => act(p.code, 'verdict', body, '判定已保存', recheckRefusal, c.version)), recorded);
  // What this user typed here before their session expired (drafts.js), now that the forms are wired.
  restoreDraft(card);
}
