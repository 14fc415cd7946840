// Tuban's one page: sign-in, inbox, polygon card, map over the batch's own imagery. Plain ES modules,
// no build step; MapLibre GL JS is served from node_modules at /vendor/. This module only wires the
// others together and starts the page after sign-in.
import { api } from './api.js';
import { closeCard, openCard, wireCard } from './card.js';
import { renderClueForm } from './clue-form.js';
import { $, setUrl, toast } from './dom.js';
import { listsBusy, listsChanged, loadCounts, loadInbox, loadOverdue, setLeadFilter, wireInbox } from './inbox.js';
import { wireKeyboard } from './keyboard.js';
import * as L from './labels.js';
import { fitToEpoch, initMap, setImagery, wireImagerySwitch } from './map.js';
import { loadMapData } from './map-layers.js';
import { fetchWorkedMonths, loadMonths } from './months.js';
import { pendingDraft } from './drafts.js';
import { showLogin, wireLogin } from './session.js';
import { on, state } from './state.js';
import { loadLedger } from './summary.js';
import { loadUsers } from './users.js';
import { wireChineseValidation } from './validity.js';
import { activeView, onShow, showTabsFor, showView } from './views.js';

/**
 * The card a `?case=` link (or a draft) opens once the first view is in; dropped when the user picks
 * another month before then (showMonth), chooses a tab, or opens a card themselves (an inbox item
 * clicked, or a code typed into 编号, at any time after the page is shown): opened afterwards, it
 * covered what they chose.
 */
let linkedCase = null;
on('open', () => (linkedCase = null));

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  const u = state.user;
  $('who').textContent = whoLine(u);
  showTabsFor(u);
  setLeadFilter(u);
  const params = new URLSearchParams(location.search);
  // A card this user was filling in when their session expired is opened again, in its month (another
  // user's draft is dropped here).
  const draft = pendingDraft(u.name);
  // The admin manages accounts and sees no polygons (the API answers 403 for them). Their tab has the
  // focus, as the inbox's first item has others': Tab goes on to the accounts, and a stray Enter does
  // nothing (on an account's 停用 it would end that account's sessions at once).
  if (u.role === 'admin') {
    if (focusIsFree()) $('tab-users').focus();
    return;
  }
  // Noted before the first wait: the page is shown, so a card the user opens (a code typed into 编号)
  // from now on drops it, not one opened only once the months are in.
  linkedCase = params.get('case') ?? draft?.code ?? null;
  // A server without imagery (no batch yet) still gives a working inbox, just no map imagery. The
  // months that hold work are asked beside the rest, not after it: one round trip before the list.
  const worked = fetchWorkedMonths();
  const [{ epochs }, districts, deadlines] = await Promise.all([
    api('/api/imagery/epochs').catch(() => ({ epochs: [] })),
    ['bureau', 'district'].includes(u.role) ? api('/api/districts').catch(() => []) : [],
    api('/api/deadlines').catch(() => null),
  ]);
  state.deadlines = deadlines;
  state.epochs = epochs;
  state.districts = districts;
  const months = await loadMonths(worked);
  const wanted = params.get('epoch') ?? draft?.epoch;
  state.epoch = months.includes(wanted) ? wanted : epochs[0]?.epoch ?? months[0];
  $('epoch').value = state.epoch ?? '';
  await firstView();
  if (linkedCase) {
    openCard(linkedCase);
    return;
  }
  // The sign-in form is gone with the focus on it: keyboard users start at the inbox (J/K, Enter),
  // unless they already went somewhere else meanwhile.
  if (focusIsFree()) ($('inbox-list').querySelector('button.item') ?? $('inbox-list')).focus();
}

/** The focus is nowhere the user put it: on the page itself, or on the sign-in form now gone. */
function focusIsFree() {
  const focused = document.activeElement;
  return !focused || focused === document.body || $('login').contains(focused);
}

/** The header's account line: name, role, bureau, district, township. A bureau account's role (部门) says nothing its bureau does not. */
function whoLine(u) {
  const role = u.role === 'bureau' && u.bureau ? null : L.ROLES[u.role] ?? u.role;
  const bureau = u.bureau ? L.BUREAUS[u.bureau] ?? u.bureau : null;
  const district = u.district ? u.district_name ?? u.district : null;
  const township = u.township ? u.township_name ?? u.township : null;
  return [u.name, role, bureau, district, township].filter(Boolean).join(' · ');
}

/**
 * The lists first, then the map. Made first, the map held the browser's main thread (MapLibre's WebGL
 * set-up, then drawing its imagery) and the server (16 imagery tiles cut, a bureau's masked to its
 * part) while the list's answer waited to be asked, served and painted: 1–2 s of a bureau's first
 * view on a 2-core machine (stop 40, BENCHMARKS.md). The map starts once the inbox is painted; its
 * polygon layer loads itself when the map is ready (map.js).
 */
async function firstView() {
  const rest = Promise.all([loadCounts(), loadOverdue()]);
  try {
    await loadInbox();
    await nextPaint();
  } finally {
    initMap();
  }
  await rest;
  if (state.user?.role === 'lead' && activeView() === 'ledger') loadLedger();
}

/** After the browser has painted what is in the page now (a frame, then the task after it); a tab in the background paints no frames, so not later than 250 ms. */
const nextPaint = () =>
  new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve));
    setTimeout(resolve, 250);
  });

async function refresh() {
  await Promise.all([loadInbox(), loadCounts(), loadOverdue(), loadMapData()]);
  if (state.user?.role === 'lead' && activeView() === 'ledger') loadLedger();
}

/**
 * The list shown follows colleagues' work (a co-bureau's verdict, the lead bureau's review or 改派):
 * asked again every `state.listPollMs` after the inbox was last asked, while the page is in view, a list
 * shown, no list on its way (加载更多, a filter) and the user not typing (the focus in a text field, a
 * drawing, a card open: none is redrawn under them). Redrawn only where the answer differs from what is
 * shown; it keeps the pages read (加载更多, up to the server's 10 000), where it was scrolled to and the
 * item with the focus; the map and counts follow.
 * Before, an open list showed a case as the user had loaded it until they did something themselves.
 */
async function pollLists() {
  const view = activeView();
  // Typing: a text field (a filter's select or checkbox is no typing: the list follows them).
  const typing = () => document.activeElement?.closest?.('input:not([type=range]):not([type=checkbox]):not([type=radio]), textarea, [contenteditable]');
  const away = () => document.visibilityState !== 'visible' || !state.epoch || !['inbox', 'overdue'].includes(activeView()) || $('app').hidden || state.openCode || state.drawing || typing() || listsBusy();
  if (away()) return;
  state.listsAskedAt = Date.now();
  // Asked first, redrawn only where they changed: nothing is rebuilt under the user for nothing.
  if (!(await listsChanged()) || away() || activeView() !== view) return;
  const shown = $(`view-${view}`);
  const scroll = shown.scrollTop;
  const focused = document.activeElement?.closest?.('button.item')?.dataset.code;
  await Promise.all([loadInbox(false, { whole: true }), loadOverdue(false, { whole: true }), loadCounts(), loadMapData()]);
  // Another view or a card taken meanwhile is the user's: left as it is; so is a focus put elsewhere.
  if (activeView() !== view || state.openCode) return;
  shown.scrollTop = scroll;
  if (focused && document.activeElement === document.body) shown.querySelector(`button.item[data-code="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
}
setInterval(() => {
  // A poll that fails (the network, the server) is tried again at the next; the user is not told every 30 s.
  if (state.user && state.user.role !== 'admin' && Date.now() - state.listsAskedAt >= state.listPollMs) pollLists().catch(() => undefined);
}, 1000);

// After any write: the card (if still open), the lists, the counts and the map. Each is waited for,
// failed or not, before a failure is passed on: the caller then tells the user and gives back what they
// had typed, which a card still being drawn again would empty a moment later (a failed list refresh
// answered at once with Promise.all).
on('changed', async (code) => {
  const done = await Promise.allSettled([code && state.openCode === code ? openCard(code, { refit: false }) : null, refresh()]);
  const failed = done.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
});

/**
 * Show another month: its imagery, inbox, counts and map (the selector's choice, a clue filed in another
 * month, or `keep`: the card of another month's case being opened, which stays open and is fitted to).
 */
async function showMonth(month, { keep = null } = {}) {
  linkedCase = null;
  state.epoch = month;
  if (![...$('epoch').options].some((o) => o.value === month)) await loadMonths();
  $('epoch').value = month;
  // The card kept may have been closed (or another opened) while the months loaded: the URL names the
  // card open now, not the one kept (put back, a reload opened the card the user had closed).
  setUrl({ epoch: state.epoch, case: keep ? state.openCode : null });
  if (!keep) closeCard();
  setImagery(state.side);
  if (!keep) fitToEpoch();
  await refresh();
}
on('month', showMonth);
$('epoch').addEventListener('change', (ev) => showMonth(ev.target.value));

document.querySelector('.tabs').addEventListener('click', (ev) => {
  const t = ev.target.closest('[role=tab]');
  if (t) {
    // The user's own choice: a ?case= link's card not opened yet is not (nor left in the URL for a reload).
    linkedCase = null;
    setUrl({ case: null });
    closeCard();
    showView(t.dataset.view);
  }
});
onShow('ledger', loadLedger);
onShow('clue', renderClueForm);
onShow('users', loadUsers);

// A read that fails (the network, the server) is said on the page, not only in the console: the list
// would otherwise keep showing what the filters no longer ask for. Writes say their own (actions.js).
window.addEventListener('unhandledrejection', (ev) => {
  toast(`未能加载最新数据（${ev.reason?.message ?? ev.reason}），请稍后重试或重新加载页面`, 'error');
});

wireChineseValidation();
wireLogin(start);
wireInbox();
wireCard();
wireImagerySwitch();
wireKeyboard();

(async () => {
  if (!state.token) {
    // A sign-out (session.js) reloads the page; what it had to say is shown here.
    const message = sessionStorage.getItem('tuban.signed-out');
    sessionStorage.removeItem('tuban.signed-out');
    return showLogin(message);
  }
  try {
    state.user = await api('/api/me');
  } catch (err) {
    // (A 401 signs the page out in api.js and never gets here.) Nothing else is a reason to end the user's sessions.
    showLogin(`无法连接服务器：${err.message}`);
    return;
  }
  await start();
})();
