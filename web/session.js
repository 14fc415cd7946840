// Sign-in and sign-out. The token is kept for the tab (sessionStorage); the server also sets an
// HttpOnly cookie, which plain links (ledger downloads, evidence files) ride on.
import { api } from './api.js';
import { $ } from './dom.js';
import { on, state } from './state.js';

async function signIn(name, password) {
  const r = await api('/api/session', { method: 'POST', body: { name, password } });
  state.token = r.token;
  sessionStorage.setItem('tuban.token', r.token);
  state.user = r.user ?? (await api('/api/me'));
}

export function signOut(message) {
  // The server ends the session (every token of the user) by the token, else by the cookie.
  const token = state.token;
  fetch('/api/session', { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} }).catch(() => {});
  state.token = null;
  state.user = null;
  sessionStorage.removeItem('tuban.token');
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  if (message) showLoginError(message);
  $('login-name').focus();
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
