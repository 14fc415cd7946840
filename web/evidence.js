// Evidence on the card: field photos (JPEG; time, position and azimuth from EXIF, the position also
// drawn on the map) and documents (PDF), listed with who uploaded them, and the upload form.
import { errorText, upload } from './api.js';
import { $, esc, fmtTime, toast } from './dom.js';
import { distanceM } from './geo.js';
import { relation } from './actions.js';
import { editsBesides, restoreTyped } from './drafts.js';
import * as L from './labels.js';
import { emit, state } from './state.js';

const size = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(b / 1024))} KB`);

function exifText(x, p) {
  if (!x) return '<span class="muted">无拍摄信息（EXIF）</span>';
  const bits = [];
  if (x.taken_at) bits.push(`<span class="exif-time">拍摄 ${esc(x.taken_at.replace('T', ' '))}</span>`);
  if (x.lat != null && x.lon != null) {
    const d = p.centroid_lon != null ? distanceM([x.lon, x.lat], [p.centroid_lon, p.centroid_lat]) : null;
    bits.push(`<span class="exif-pos">位置 ${x.lat.toFixed(6)}°N, ${x.lon.toFixed(6)}°E${d != null ? `（距图斑中心 ${Math.round(d)} m）` : ''}</span>`);
  }
  if (x.azimuth != null) bits.push(`<span class="exif-az">方位角 ${Number(x.azimuth).toFixed(1)}°${x.azimuth_ref === 'M' ? '（磁北）' : ''}</span>`);
  return bits.join('<br>') || '<span class="muted">无拍摄信息（EXIF）</span>';
}

export function renderEvidence(card) {
  const p = card.properties;
  const base = `/api/polygons/${encodeURIComponent(p.code)}/evidence`;
  const { mine, coHandler, oversee, status } = relation(card);
  const items = (card.evidence ?? [])
    .map((e) => {
      const photo = e.mime === 'image/jpeg';
      // Evidence links ride on the HttpOnly session cookie (same origin), so <img> and <a> work as is.
      return `<li class="evidence-item" data-id="${e.id}">
        ${photo ? `<a href="${base}/${e.id}" target="_blank" rel="noopener"><img class="thumb" src="${base}/${e.id}" alt="${esc(e.file_name)}" loading="lazy"></a>` : '<span class="thumb doc">PDF</span>'}
        <div><a href="${base}/${e.id}" download class="file-name">${esc(e.file_name)}</a> <span class="muted">${size(e.size_bytes)} · ${esc(e.uploaded_by)} · ${esc(fmtTime(e.uploaded_at))}</span>
        ${e.note ? `<div>${esc(e.note)}</div>` : ''}
        ${photo ? `<div class="exif">${exifText(e.exif, p)}</div>` : ''}</div>
      </li>`;
    })
    .join('');
  const canUpload = (mine || coHandler || oversee) && !L.SETTLED.includes(status);
  $('evidence-box').innerHTML = `<h3>证据（现场照片、文件）</h3>
    <ul class="evidence" id="evidence-list">${items || '<li class="muted">暂无证据</li>'}</ul>
    ${
      canUpload
        ? `<form id="evidence-form" class="verdict upload">
        <div class="field"><span class="label">文件（JPEG 照片或 PDF，单个不超过 20 MB，可多选）</span>
          <div class="buttons"><label class="file-button">选择文件…<input type="file" id="evidence-file" name="file" accept="image/jpeg,application/pdf,.jpg,.jpeg,.pdf" multiple></label><span id="evidence-chosen" class="muted">未选择文件</span></div>
        </div>
        <label>说明 <input name="note" id="evidence-note" maxlength="2000" placeholder="如 东侧全景、审批文件"></label>
        <button type="submit" class="primary" id="evidence-submit">上传</button>
      </form>`
        : ''
    }`;
  const form = $('evidence-form');
  // The browser's own file button speaks the browser's language; this one says 选择文件 and lists the choice.
  $('evidence-file')?.addEventListener('change', (ev) => {
    const names = [...ev.target.files].map((f) => f.name);
    $('evidence-chosen').textContent = names.length ? names.join('、') : '未选择文件';
  });
  form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const files = [...$('evidence-file').files];
    if (!files.length) return toast('请先选择文件', 'error');
    const note = $('evidence-note').value.trim();
    const btn = $('evidence-submit');
    btn.disabled = true;
    let ok = 0;
    const refused = [];
    for (const [i, file] of files.entries()) {
      btn.textContent = `上传中 ${i + 1}/${files.length}…`;
      try {
        await upload(`${base}?${new URLSearchParams({ name: file.name, ...(note ? { note } : {}) })}`, file);
        ok++;
      } catch (err) {
        refused.push(`${file.name}：${errorText(err)}`);
      }
    }
    btn.disabled = false;
    btn.textContent = '上传';
    // One message for the whole choice, said after the card has re-rendered: a refusal must not be
    // replaced a moment later by "已上传" for the files that did go through.
    if (ok) {
      // A report typed in the card's forms before its photo was uploaded is not lost when the card is drawn again.
      const typed = editsBesides(null);
      // Stored: a refresh that fails afterwards must not read as a failed upload (and invite a second one).
      const stale = await emit('changed', p.code).then(() => false, () => true);
      if (state.openCode === p.code) restoreTyped(typed);
      if (stale) return toast(`已上传 ${ok} 个文件${refused.length ? `；未上传 ${refused.length} 个：${refused.join('；')}` : ''}；但页面未能刷新，请重新加载页面查看最新状态`, 'error');
    }
    if (refused.length) toast(`${ok ? `已上传 ${ok} 个文件；` : ''}未上传 ${refused.length} 个：${refused.join('；')}`, 'error');
    else toast(`已上传 ${ok} 个文件`, 'ok');
  });
}
