// The verdict form: 合法 (approval document no.), 违法 (violation type), 其他 (situation and reason;
// 持续监测 also what the re-check looks for, and optionally by when); after a split, one verdict per parcel (the parcel chosen first).
import { chinaToday, esc, options } from './dom.js';
import { edited } from './drafts.js';
import * as L from './labels.js';

/**
 * `recheck`: the card's `case.recheck_window` ({earliest, default, latest}: a 持续监测 re-check set
 * today), the bounds of its date field; left empty, the server sets the rule's date.
 * `recorded`: the case's verdict ({verdict, verdict_details}) when the form corrects it (修改判定): the
 * form opens filled with it, since the server replaces a verdict whole and a field left empty is dropped.
 */
export function verdictFormHtml(parcels, recheck = null, recorded = null) {
  const was = recorded?.verdict ?? null;
  const d = recorded?.verdict_details ?? {};
  const checked = (v) => (was === v ? ' checked' : '');
  const value = (k) => (d[k] == null ? '' : ` value="${esc(d[k])}"`);
  const parcelPick = parcels.length
    ? `<label>地块 <select name="parcel" id="verdict-parcel" required><option value="">请选择</option>${parcels
        .map((p) => `<option value="${p.idx}">地块 ${p.idx}（${Number(p.area_mu).toFixed(2)} 亩）${p.verdict ? ` · ${esc(L.VERDICTS[p.verdict])}` : ' · 未判定'}</option>`)
        .join('')}</select></label>`
    : '';
  return `<form id="verdict-form" class="verdict">
    ${parcelPick}
    <fieldset><legend>判定</legend>
      <label><input type="radio" name="verdict" value="legal" required${checked('legal')}> 合法</label>
      <label><input type="radio" name="verdict" value="illegal"${checked('illegal')}> 违法</label>
      <label><input type="radio" name="verdict" value="other"${checked('other')}> 其他</label>
    </fieldset>
    <div data-for="legal" hidden>
      <label>批准文号 <input name="approval_doc_no" id="approval-doc" data-required="1" maxlength="100" placeholder="如 济政土批〔2026〕15号"${value('approval_doc_no')}></label>
      <label>实际用途 <input name="legal_actual_use" id="legal-use" maxlength="200"${was === 'legal' ? value('actual_use') : ''}></label>
    </div>
    <div data-for="illegal" hidden>
      <label>违法类型 <select name="violation_type" id="violation-type" data-required="1"><option value="">请选择</option>${options(L.VIOLATION_TYPES, d.violation_type)}</select></label>
      <label>违法情形 <select name="violation_subtype" id="violation-subtype"><option value="">未定</option>${options(L.VIOLATION_SUBTYPES, d.violation_subtype)}</select></label>
      <label>当事人 <input name="party" maxlength="200"${value('party')}></label>
      <label>违法性质 <select name="violation_nature" id="violation-nature"><option value="">未定</option>${options(L.VIOLATION_NATURES, d.violation_nature)}</select></label>
      <label>实际用途 <input name="actual_use" maxlength="200"${was === 'illegal' ? value('actual_use') : ''}></label>
      <label>巡查首次发现时间 <input name="patrol_found_on" type="date" max="${chinaToday()}" title="本地巡查最早发现此问题的日期；巡查未曾发现则留空（卫片先于巡查发现即为发现不及时）"${value('patrol_found_on')}></label>
    </div>
    <div data-for="other" hidden>
      <label>情形 <select name="situation" id="other-situation" data-required="1"><option value="">请选择</option>${options(L.OTHER_SITUATIONS, d.situation)}</select></label>
      <label>理由 <textarea name="reason" id="other-reason" data-required="1" rows="2" maxlength="2000">${esc(d.reason ?? '')}</textarea></label>
      <label data-for-situation="continuous_monitoring" hidden>关注事项（下期影像复查什么） <textarea name="watch" id="other-watch" rows="2" maxlength="500" placeholder="如：堆土是否平整后建房、地基上是否起建筑">${esc(d.watch ?? '')}</textarea></label>
      <label data-for-situation="continuous_monitoring" hidden>复查期限（可选） <input name="recheck_on" id="other-recheck" type="date" min="${esc(recheck?.earliest ?? chinaToday())}"${recheck ? ` max="${esc(recheck.latest)}"` : ''}></label>
      <p class="muted hint" data-for-situation="continuous_monitoring" hidden>持续监测：不销号，转入持续监测，复查期限前对照下期影像复查并判定。复查期限留空则为${recheck ? ` ${esc(recheck.default)}（默认次月底）` : '默认次月底'}；可按现场情况提前${recheck ? `，或延后至 ${esc(recheck.latest)}` : '或延后'}。</p>
    </div>
    <label data-for-not="other">备注 <textarea name="note" rows="2" maxlength="2000">${esc(d.note ?? '')}</textarea></label>
    <p class="muted hint" id="verdict-note-hint" hidden></p>
    <button type="submit" class="primary" id="verdict-submit">保存判定</button>
  </form>`;
}

/**
 * Fill the form with a parcel's verdict as recorded (`recorded`: {verdict, verdict_details}; none: an
 * empty form), as verdictFormHtml fills it with the polygon's. Filled as drawn (default values): what
 * the user then changes is told apart from it (drafts.js), and the form's 备注 hint reads it. What the
 * user already changed (a verdict chosen and typed, then the parcel picked) stays as they left it.
 */
function fillRecorded(form, recorded, touched) {
  const was = recorded?.verdict ?? null;
  const d = recorded?.verdict_details ?? {};
  // The two 实际用途: the legal verdict's (legal_actual_use) and the violation's, each of its own verdict.
  const value = (name) => (name === 'legal_actual_use' ? (was === 'legal' ? d.actual_use : null) : name === 'actual_use' && was !== 'illegal' ? null : d[name]);
  const fields = [...form.elements].filter((el) => el.name && el.name !== 'parcel');
  // By name: a radio group is the user's once any of its buttons is. And once the user touched it:
  // a choice equal to the last parcel's record reads as that record's default, not as theirs.
  const changed = new Set([...fields.filter(edited).map((el) => el.name), ...touched]);
  const kept = fields.filter((el) => changed.has(el.name)).map((el) => [el, el.type === 'radio' ? el.checked : el.value]);
  for (const el of fields) {
    const v = String(value(el.name) ?? '');
    if (el.type === 'radio') el.checked = el.defaultChecked = el.value === was;
    else if (el.tagName === 'SELECT') for (const o of el.options) o.selected = o.defaultSelected = o.value === v;
    else {
      el.defaultValue = v;
      el.value = v;
    }
  }
  for (const [el, v] of kept) {
    if (el.type === 'radio') el.checked = v;
    else el.value = v;
  }
}

/**
 * Show the fields of the chosen verdict; submit calls `send(body)` with the API's verdict body.
 * `parcels`: the card's parcels when the form corrects a split polygon's verdicts (not a 复查判定): the
 * chosen parcel's verdict as recorded fills the form, since the server replaces it whole.
 */
export function wireVerdictForm(form, send, parcels = null) {
  const parcelPick = form.querySelector('#verdict-parcel');
  // Before the form's own change listener (sync below): the bubbling event reaches the form after it.
  // The fields the user changed (or a draft put back), whatever the parcel's record says.
  const touched = new Set();
  for (const type of ['input', 'change']) form.addEventListener(type, (ev) => ev.target.name && ev.target !== parcelPick && touched.add(ev.target.name));
  if (parcelPick && parcels) parcelPick.addEventListener('change', () => fillRecorded(form, parcels.find((p) => String(p.idx) === parcelPick.value), touched));
  const noteHint = form.querySelector('#verdict-note-hint');
  const sync = () => {
    const v = form.querySelector('input[name=verdict]:checked')?.value;
    // A hidden field is disabled, not only not required: its min/max (a date typed under another
    // verdict) would otherwise hold the form back with a message nobody can see.
    for (const f of form.querySelectorAll('[data-for]')) {
      f.hidden = f.dataset.for !== v;
      for (const i of f.querySelectorAll('input,select,textarea')) {
        i.required = !f.hidden && i.dataset.required === '1';
        i.disabled = f.hidden;
      }
    }
    for (const f of form.querySelectorAll('[data-for-not]')) f.hidden = f.dataset.forNot === v;
    // 持续监测 needs what to watch for (the server refuses it without).
    const situation = v === 'other' ? form.querySelector('select[name=situation]')?.value : '';
    for (const f of form.querySelectorAll('[data-for-situation]')) {
      f.hidden = f.dataset.forSituation !== situation;
      for (const i of f.querySelectorAll('textarea')) i.required = !f.hidden;
      for (const i of f.querySelectorAll('input,select,textarea')) i.disabled = f.hidden;
    }
    // The 备注 belongs to the verdict (the ledger's 备注): one recorded with another verdict is sent
    // with the new one as shown (it is the user's text), and the form says so. 其他 takes none.
    const recorded = [...form.querySelectorAll('input[name=verdict]')].find((r) => r.defaultChecked)?.value;
    const noted = form.elements.namedItem('note').defaultValue.trim() !== '';
    noteHint.hidden = !noted || !recorded || !v || v === recorded || v === 'other';
    noteHint.textContent = noteHint.hidden ? '' : `此备注随原判定（${L.VERDICTS[recorded]}）录入，将随新判定一并保存（台账「备注」）；如不再适用，请修改或删除。`;
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const v = fd.get('verdict');
    const body = { verdict: v };
    const val = (k) => String(fd.get(k) ?? '').trim();
    // Each verdict's own fields only: its hidden sections are disabled, so FormData has the shown one's.
    if (v === 'legal') {
      body.approval_doc_no = val('approval_doc_no');
      if (val('legal_actual_use')) body.actual_use = val('legal_actual_use');
    }
    if (v === 'illegal') {
      body.violation_type = val('violation_type');
      for (const k of ['violation_subtype', 'party', 'violation_nature', 'actual_use', 'patrol_found_on']) if (val(k)) body[k] = val(k);
    }
    if (v === 'other') Object.assign(body, { situation: val('situation'), reason: val('reason') });
    if (v === 'other' && body.situation === 'continuous_monitoring') {
      body.watch = val('watch');
      if (val('recheck_on')) body.recheck_on = val('recheck_on');
    }
    if (val('note') && v !== 'other') body.note = val('note');
    if (val('parcel')) body.parcel = Number(val('parcel'));
    await send(body);
  });
}
