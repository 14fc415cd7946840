// The admin's tab: the accounts (GET /api/users), each but the admin's own with a button that
// disables or enables it at once (POST /api/users/{name}/disable|enable): `tuban user disable`
// cannot reach an embedded database while the server holds it. Accounts are added with `tuban user`.
import { api, errorText } from './api.js';
import { $, esc, fmtTime, toast } from './dom.js';
import * as L from './labels.js';
import { state } from './state.js';

function toggleButton(u) {
  if (u.name === state.user?.name) return '';
  const [action, label] = u.disabled ? ['enable', '启用'] : ['disable', '停用'];
  return `<button type="button" class="link" data-user="${esc(u.name)}" data-action="${action}">${label}</button>`;
}

export async function loadUsers() {
  const users = await api('/api/users');
  const rows = users
    .map((u) => `<tr><th>${esc(u.name)}</th><td>${esc(L.ROLES[u.role] ?? u.role)}</td><td class="left">${esc(u.bureau ? `${L.BUREAUS[u.bureau] ?? u.bureau}${u.township ? ` ${u.township}` : ''}` : u.district ?? '')}</td><td>${u.disabled ? '<span class="overdue">已停用</span>' : '正常'}</td><td>${esc(fmtTime(u.created_at))}</td><td>${toggleButton(u)}</td></tr>`)
    .join('');
  $('view-users').innerHTML = `<h2>账户</h2>
    <table class="table" id="users-table"><thead><tr><th>用户名</th><th>角色</th><th class="left">部门/区县</th><th>状态</th><th>创建时间</th><th></th></tr></thead><tbody>${rows}</tbody></table>
    <p class="muted">停用立即生效（该账户的登录全部失效）。添加账户：<code>tuban user add 名称 --role bureau --bureau forestry</code>（密码从标准输入读取）。</p>`;
  // Assigned, not added: the tab is rendered again on every visit.
  $('view-users').onclick = async (ev) => {
    const button = ev.target.closest('button[data-user]');
    if (!button) return;
    button.disabled = true;
    try {
      await api(`/api/users/${encodeURIComponent(button.dataset.user)}/${button.dataset.action}`, { method: 'POST' });
    } catch (err) {
      toast(errorText(err), 'error');
    }
    await loadUsers();
  };
}
