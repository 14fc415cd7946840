// The side panel's tabs: inbox, overdue list, clue form, ledger and summary; the card covers them.
import { $ } from './dom.js';

export const VIEWS = ['inbox', 'overdue', 'clue', 'ledger', 'users'];
const loaders = {};

/** Run `load` whenever the tab `name` is shown. */
export function onShow(name, load) {
  loaders[name] = load;
}

export function activeView() {
  return document.querySelector('.tabs [aria-selected=true]')?.dataset.view ?? 'inbox';
}

export function showView(name) {
  for (const t of document.querySelectorAll('.tabs [role=tab]')) t.setAttribute('aria-selected', String(t.dataset.view === name));
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
  $('view-card').hidden = true;
  loaders[name]?.();
}

/**
 * Which tabs a role gets: the clue form for bureaus and districts (a township's own account once a
 * batch stored its township's outline: its clues lie in its township, and before that the server
 * refuses them), the ledger for the lead bureau, accounts (only) for the admin.
 */
export function showTabsFor(user) {
  const admin = user.role === 'admin';
  $('tab-inbox').hidden = admin;
  $('tab-overdue').hidden = admin;
  $('tab-ledger').hidden = user.role !== 'lead';
  $('tab-clue').hidden = !['bureau', 'district'].includes(user.role) || (Boolean(user.township) && !user.township_outline);
  $('tab-users').hidden = !admin;
  if ($(`tab-${activeView()}`).hidden) showView(admin ? 'users' : 'inbox');
}
