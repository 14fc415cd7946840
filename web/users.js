// The admin's tab: the accounts (GET /api/users). Accounts are added and disabled with `tuban user`.
import { api } from './api.js';
import { $, esc, fmtTime } from './dom.js';
import * as L from './labels.js';

export async function loadUsers() {
  const users = await api('/api/users');
  const rows = users
    .map((u) => `<tr><th>${esc(u.name)}</th><td>${esc(L.ROLES[u.role] ?? u.role)}</td><td class="left">${esc(u.bureau ? L.BUREAUS[u.bureau] ?? u.bureau : u.district ?? '')}</td><td>${u.disabled ? '<span class="overdue">已停用</span>' : '正常'}</td><td>${esc(fmtTime(u.created_at))}</td></tr>`)
    .join('');
  $('view-users').innerHTML = `<h2>账户</h2>
    <table class="table" id="users-table"><thead><tr><th>用户名</th><th>角色</th><th class="left">部门/区县</th><th>状态</th><th>创建时间</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="muted">添加、停用账户：<code>tuban user add 名称 --role bureau --bureau forestry</code>、<code>tuban user disable 名称</code>（密码从标准输入读取）。</p>`;
}
