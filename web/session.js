// Sign-in and sign-out. The token is kept for the tab (sessionStorage); the server also sets an
// HttpOnly cookie, which plain links (ledger downloads, evidence files) ride on.
import { api } from './api.js';
import { saveDraft } from './drafts.js';
import { $ } from './dom.js';
import { on, state } from './state.js';

async function signIn(name, password) {
  const r = await api('/api/session', { method: 'POST', body: { name, password } });
  state.token = r.token;
  sessionStorage.setItem('tuban.token', r.token);
  // /api/me, not the sign-in answer's bare user: it adds the district's or township's name from the
  // layer (the header shows it, not the code) and whether a township's outline is stored (its clue tab).
  state.user = await api('/api/me');
}

/** The sign-in form, with a message if given (the page's start without a token). */
export function showLogin(message) {
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  if (message) showLoginError(message);
  $('login-name').focus();
}

let leaving = false;

/**
 * Sign out (the button, or a 401): stop the map asking for tiles, end the session on the server (every
 * token of the user, by the token, else by the cookie), then load the page afresh at `/`, so nothing of
 * this user stays behind for the next one at the same screen: no open card (`?case=`), inbox, map view
 * or request still on its way (a draft kept by an expiry is offered to the same user only). The message (if any) is shown on the fresh page's sign-in form.
 */
export async function signOut(message) {
  if (leaving) return;
  leaving = true;
  // Signed out by the server (a 401, with its message), not by the user: what they were typing on the
  // open card is kept for their next sign-in at this tab (drafts.js), and only theirs.
  if (message) saveDraft();
  const token = state.token;
  $('app').hidden = true;
  state.mapReady = false;
  try {
    state.map?.remove();
  } catch {
    // The page is reloaded below in any case.
  }
  await fetch('/api/session', { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} }).catch(() => {});
  state.token = null;
  state.user = null;
  sessionStorage.removeItem('tuban.token');
  if (message) sessionStorage.setItem('tuban.signed-out', message);
  location.replace(location.pathname);
}
on('signed-out', signOut);

function showLoginError(text) {
  const e = $('login-error');
  e.textContent = text;
  e.hidden = false;
}

/** Wire the login form; `start` runs after a successful sign-in. */
export function wireLogin(start) {
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
}
