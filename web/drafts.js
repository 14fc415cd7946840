// What was typed into a card's forms, kept across a reload of the card (a colleague's change, CASE.STALE)
// and across a sign-in after the session expired mid-work (a 401 reloads the page): a verdict's reason
// typed for ten minutes is not lost. A draft is given back only to the same user, on the same case.
import { $, toast } from './dom.js';
import { ACTIONS } from './labels.js';
import { state } from './state.js';

const KEY = 'tuban.draft';
/** A draft older than a working day is not offered again. */
const MAX_AGE_MS = 12 * 3600 * 1000;

/** A field changed from what the card drew into it (a select: from its drawn choice, else its first option). */
export function edited(el) {
  if (el.type === 'radio' || el.type === 'checkbox') return el.checked !== el.defaultChecked;
  if (el.tagName === 'SELECT') return el.value !== ([...el.options].find((o) => o.defaultSelected) ?? el.options[0])?.value;
  return el.value !== el.defaultValue;
}

/**
 * What the user changed in the card's forms other than `except` (the form just sent; null: every form),
 * per form (verdict form, or mini form by action) with whether its section was open, to put back after
 * the card is drawn again (a save, an upload, a colleague's change: CASE.STALE) or the user signs in
 * again. Only the changed fields: an untouched field takes the new card's value (a colleague's
 * corrected 当事人, a rectification's 违法性质 after a corrected verdict), not the old card's, which
 * 修改判定 drew in as recorded.
 */
export function editsBesides(except) {
  return [...($('actions')?.querySelectorAll('form') ?? [])]
    .map((f) => ({
      key: f.id || f.dataset.action,
      open: f.closest('details')?.open ?? false,
      fields: [...f.elements].filter((el) => el.name && !el.disabled && edited(el)).map((el) => ({ name: el.name, value: el.value, checked: el.checked, type: el.type })),
    }))
    .filter((t) => t.key !== except && t.fields.length);
}

/** Fill the reloaded card's forms that are still offered with what was typed (change events redraw dependent fields). */
export function restoreTyped(typed) {
  for (const t of typed) {
    const f = [...$('actions').querySelectorAll('form')].find((x) => (x.id || x.dataset.action) === t.key);
    if (!f) continue;
    const details = f.closest('details');
    if (details && t.open) details.open = true;
    for (const v of t.fields) {
      const named = v.type === 'radio' ? f.querySelector(`input[type=radio][name="${v.name}"][value="${CSS.escape(v.value)}"]`) : f.elements.namedItem(v.name);
      // Fields sharing a name: the one enabled now (its section shown by the choices restored before it), as it was captured.
      const el = named instanceof RadioNodeList ? [...named].find((x) => !x.disabled) : named;
      if (!el) continue;
      if (v.type === 'radio' || v.type === 'checkbox') {
        if (el.checked === v.checked) continue;
        el.checked = v.checked;
      } else el.value = v.value;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }
}

/** Keep the open card's typed text for the same user's next sign-in at this tab (a session that expired). */
export function saveDraft() {
  const code = state.openCode;
  const user = state.user?.name;
  if (!code || !user) return;
  // What the user changed: a form drawn filled in (修改判定, the verdict as recorded) is no draft by itself.
  const typed = editsBesides(null);
  // The case version it was typed against: a colleague's change while this user was signed out is told on restoring.
  const version = state.card?.case?.version ?? null;
  if (typed.length) sessionStorage.setItem(KEY, JSON.stringify({ user, code, epoch: state.epoch, version, typed, at: Date.now() }));
}

/** The draft kept for `user` (else none, and another user's is dropped: it is not theirs to see). */
export function pendingDraft(user) {
  let d = null;
  try {
    d = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    d = null;
  }
  if (d && d.user === user && Date.now() - d.at < MAX_AGE_MS) return d;
  sessionStorage.removeItem(KEY);
  return null;
}

/**
 * Fill `card` with its kept draft, once, and say so. The reloaded card sends its own version with a
 * submit, so a case changed while the user was signed out (a colleague's verdict) would be
 * overwritten without the CASE.STALE refusal: the toast names that change instead, as that refusal does.
 */
export function restoreDraft(card) {
  const code = card.properties.code;
  const d = pendingDraft(state.user?.name);
  if (!d || d.code !== code) return;
  sessionStorage.removeItem(KEY);
  restoreTyped(d.typed);
  const now = card.case?.version;
  if (d.version != null && now != null && now !== d.version) {
    // The latest change of the case (notes and evidence do not change its version).
    const last = [...(card.history ?? [])].reverse().find((h) => h.before == null || Object.keys(h.before).length > 0);
    const who = last ? `${last.actor === 'system' ? '系统' : last.actor}（${ACTIONS[last.action] ?? last.action}）` : '他人';
    return toast(`此图斑在您登录过期期间已被${who}更新；已恢复您填写的内容（尚未提交），请先核对最新状态再决定是否提交`, 'error');
  }
  toast('已恢复登录过期前在此图斑填写的内容（尚未提交），请核对后提交', 'info');
}
