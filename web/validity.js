// The forms' own checks (required, min/max, pattern, …) said in Chinese: the browser words them in its
// own language (English in an English Chromium, whatever the page's lang), the rest of the page is
// Chinese. One listener for the whole document, so every form, rendered now or later, gets it.

/** The Chinese for what the browser found wrong with `el` (its `validity`), or '' when nothing is. */
export function chineseMessage(el) {
  const v = el.validity;
  const date = el.type === 'date';
  if (v.valueMissing) {
    if (el.type === 'checkbox') return '请勾选此项';
    if (el.type === 'radio') return '请选择其中一项';
    if (el.type === 'file') return '请选择文件';
    if (el.tagName === 'SELECT') return '请在列表中选择一项';
    return date ? '请选择日期' : '请填写此项';
  }
  if (v.badInput) return date ? '请填写完整的日期' : '请输入数字';
  if (v.rangeUnderflow) return date ? `日期不能早于 ${el.min}` : `不能小于 ${el.min}`;
  if (v.rangeOverflow) return date ? `日期不能晚于 ${el.max}` : `不能大于 ${el.max}`;
  if (v.stepMismatch) return el.step === '1' ? '请输入整数' : `请按 ${el.step} 的精度填写`;
  // A pattern's title says what it wants (the page's patterns have one, in Chinese).
  if (v.patternMismatch) return el.title || '格式不正确';
  if (v.tooLong) return `最多 ${el.maxLength} 个字`;
  if (v.tooShort) return `至少 ${el.minLength} 个字`;
  if (v.typeMismatch) return '格式不正确';
  return '';
}

/**
 * Set the Chinese message when a field is found invalid (the browser's bubble shows it), and take it
 * off again before the next check: a message set stays an error of its own until cleared, which would
 * hold a form back after its field was corrected, or no longer required (verdict-form.js switches
 * `required` as the verdict changes).
 */
export function wireChineseValidation(root = document) {
  // Fired on each invalid field as a form is submitted; does not bubble, so caught on the way down.
  root.addEventListener('invalid', (ev) => ev.target.setCustomValidity?.(chineseMessage(ev.target)), true);
  const clear = (form) => {
    for (const el of form.elements) el.setCustomValidity?.('');
  };
  // An edit clears its whole form: a radio chosen answers the group's `required`, which sits on another radio.
  for (const type of ['input', 'change']) root.addEventListener(type, (ev) => ev.target.form && clear(ev.target.form), true);
  // A submit (a click, or Enter in a field: the browser clicks the form's default button) checks
  // afresh, before the browser's own check runs.
  root.addEventListener(
    'click',
    (ev) => {
      const button = ev.target.closest?.('button, input[type=submit]');
      if (button?.type === 'submit' && button.form) clear(button.form);
    },
    true,
  );
}
