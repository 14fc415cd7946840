// Splitting a polygon into parcels (分割地块) on the map: cut lines across it, or parcels drawn
// roughly (clipped to the polygon, the rest one more parcel). The server previews the parcels with
// their areas in m² and 亩 (split-preview), the user confirms, and each parcel then gets its own
// verdict. Shows the parcels of a split polygon with their verdicts.
import { act, relation } from './actions.js';
import { api, errorText } from './api.js';
import { $, esc, m2, oneClick, toast } from './dom.js';
import { draw } from './draw.js';
import * as L from './labels.js';
import { showDrawing, showParcels } from './map-overlays.js';
import { state } from './state.js';

function parcelTable(parcels, id) {
  const rows = parcels
    .map((p, i) => `<tr><th>地块 ${p.idx ?? i + 1}</th><td>${m2(p.area_m2)} m²</td><td>${Number(p.area_mu).toFixed(2)} 亩</td>${p.idx ? `<td><i class="dot" style="background:${L.VERDICT_COLOR[p.verdict] ?? '#ccc'}"></i> ${esc(p.verdict ? L.VERDICTS[p.verdict] : '未判定')}</td>` : ''}</tr>`)
    .join('');
  const total = parcels.reduce((s, p) => s + Number(p.area_m2), 0);
  return `<table class="table" id="${id}"><tbody>${rows}</tbody><tfoot><tr><th>合计</th><td>${m2(total)} m²</td><td>${(total / (10000 / 15)).toFixed(2)} 亩</td>${parcels[0]?.idx ? '<td></td>' : ''}</tr></tfoot></table>`;
}

export function renderParcels(card) {
  const box = $('parcels-box');
  const parcels = card.parcels ?? [];
  const { mine, status } = relation(card);
  const canSplit = mine && status === 'accepted' && card.geometry && card.geometry.type !== 'Point';
  box.innerHTML = `${parcels.length ? `<h3>地块（${parcels.length}）</h3>${parcelTable(parcels, 'parcel-table')}` : ''}
    ${
      canSplit
        ? `<details class="more" id="split-box"><summary>${parcels.length ? '重新分割' : '分割图斑（部分合法、部分违法时）'}</summary>
        <p class="muted">画一条或几条穿过图斑的分割线；或逐块画出地块的大致范围（超出图斑的部分自动裁去，剩余部分为最后一块）。</p>
        <div class="buttons"><button type="button" id="split-line">画分割线</button><button type="button" id="split-parcel">画地块</button><button type="button" id="split-reset" class="link">清除</button></div>
        <div id="split-preview"></div>
      </details>`
        : ''
    }`;
  if (!canSplit) return;
  const drawn = { lines: [], parcels: [] };
  let preview = [];
  const code = card.properties.code;
  const refresh = async () => {
    const body = drawn.lines.length ? { lines: drawn.lines } : { parcels: drawn.parcels };
    try {
      preview = (await api(`/api/polygons/${encodeURIComponent(code)}/split-preview`, { method: 'POST', body })).parcels;
    } catch (err) {
      preview = [];
      toast(errorText(err), 'error');
    }
    showDrawing([]);
    showParcels(preview);
    $('split-preview').innerHTML = preview.length
      ? `${parcelTable(preview, 'split-table')}${preview.length < 2 ? '<p class="muted">只得到一块：分割线需完整穿过图斑。</p>' : `<button type="button" class="primary" id="split-submit">确认分割为 ${preview.length} 块</button>`}`
      : '';
    $('split-submit')?.addEventListener('click', (ev) => oneClick(ev.currentTarget, () => act(code, 'split', { parcels: preview.map((p) => p.geometry) }, `已分割为 ${preview.length} 个地块`, undefined, card.case?.version)));
  };
  const add = (mode) => async () => {
    const g = await draw(mode);
    if (!g || state.openCode !== code) return;
    // Lines and parcels do not mix in one drawing: switching starts over.
    if (mode === 'line') {
      drawn.parcels = [];
      drawn.lines.push(g);
    } else {
      drawn.lines = [];
      drawn.parcels.push(g);
    }
    await refresh();
  };
  $('split-line').addEventListener('click', add('line'));
  $('split-parcel').addEventListener('click', add('polygon'));
  $('split-reset').addEventListener('click', () => {
    drawn.lines = [];
    drawn.parcels = [];
    preview = [];
    $('split-preview').innerHTML = '';
    showDrawing([]);
    showParcels(card.parcels);
  });
}
