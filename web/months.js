// The month selector: the months with imagery, the months that hold work in the user's scope
// (GET /api/months: a clue filed for last month may be in a month no batch has imagery for) and the
// current month (clues filed this month are listed before its batch runs). Newest first.
import { api } from './api.js';
import { $, chinaToday, esc } from './dom.js';
import { state } from './state.js';

/** The months holding work in the user's scope (GET /api/months); none when it cannot be read. */
export const fetchWorkedMonths = () => api('/api/months').catch(() => []);

/**
 * Fill the selector (keeping the month shown); returns the months offered. `worked`: the answer of
 * fetchWorkedMonths() when it was asked already (the page's start asks it beside the imagery's months).
 */
export async function loadMonths(worked = fetchWorkedMonths()) {
  const months = [...new Set([...state.epochs.map((e) => e.epoch), ...(await worked), chinaToday().slice(0, 7)])].sort().reverse();
  const sel = $('epoch');
  sel.innerHTML = months.map((m) => `<option value="${esc(m)}">${esc(m)}${state.epochs.some((e) => e.epoch === m) ? '' : '（无影像）'}</option>`).join('');
  if (state.epoch) sel.value = state.epoch;
  return months;
}
