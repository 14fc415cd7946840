// Drawing on the map: a point (one click), a line (cut line for a split) or a polygon (a parcel, a
// clue's outline). Click to add vertices; 完成/Enter or a double click to finish, 撤销/Backspace to
// drop the last vertex, 取消/Esc to give up. Resolves with a GeoJSON geometry, or null if cancelled.
import { $, toast } from './dom.js';
import { showDrawing } from './map-overlays.js';
import { state } from './state.js';

const MIN = { point: 1, line: 2, polygon: 3 };
const HINT = { point: '在地图上点击位置', line: '点击画分割线（穿过图斑），双击或“完成”结束', polygon: '点击画范围的各个顶点，双击或“完成”结束' };

function geometry(mode, pts) {
  if (mode === 'point') return { type: 'Point', coordinates: pts[0] };
  if (mode === 'line') return { type: 'LineString', coordinates: pts };
  return { type: 'Polygon', coordinates: [[...pts, pts[0]]] };
}

function render(mode, pts) {
  const features = pts.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
  if (pts.length >= MIN[mode] && mode !== 'point') features.push({ type: 'Feature', geometry: geometry(mode, pts), properties: {} });
  else if (pts.length >= 2) features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: pts }, properties: {} });
  showDrawing(features);
}

/** Draw one geometry of `mode` ('point' | 'line' | 'polygon'); `hint` replaces the default prompt. */
export function draw(mode, hint) {
  const map = state.map;
  if (!state.mapReady) {
    toast('地图尚未加载', 'error');
    return Promise.resolve(null);
  }
  state.drawing?.cancel();
  return new Promise((resolve) => {
    const pts = [];
    const bar = $('draw-bar');
    const finish = (ok) => {
      if (ok && pts.length < MIN[mode]) return toast(`至少需要 ${MIN[mode]} 个点`, 'error');
      map.off('click', onClick);
      map.off('dblclick', onDbl);
      document.removeEventListener('keydown', onKey, true);
      map.getCanvas().style.cursor = '';
      // A double click zooms the map otherwise; give it back a moment after the last click.
      setTimeout(() => map.doubleClickZoom.enable(), 300);
      bar.hidden = true;
      state.drawing = null;
      showDrawing(ok ? [{ type: 'Feature', geometry: geometry(mode, pts), properties: {} }] : []);
      resolve(ok ? geometry(mode, pts) : null);
    };
    const onClick = (e) => {
      pts.push([Number(e.lngLat.lng.toFixed(8)), Number(e.lngLat.lat.toFixed(8))]);
      render(mode, pts);
      if (mode === 'point') finish(true);
    };
    const onDbl = (e) => {
      e.preventDefault();
      // The double click's two clicks added the same vertex twice.
      if (pts.length > 1 && pts.at(-1)[0] === pts.at(-2)[0] && pts.at(-1)[1] === pts.at(-2)[1]) pts.pop();
      finish(true);
    };
    const onKey = (ev) => {
      if (ev.target.closest?.('input, select, textarea')) return;
      if (ev.key === 'Escape') finish(false);
      else if (ev.key === 'Enter') finish(true);
      else if (ev.key === 'Backspace') {
        pts.pop();
        render(mode, pts);
      } else return;
      ev.preventDefault();
      ev.stopPropagation();
    };
    map.doubleClickZoom.disable();
    map.on('click', onClick);
    map.on('dblclick', onDbl);
    document.addEventListener('keydown', onKey, true);
    map.getCanvas().style.cursor = 'crosshair';
    $('draw-hint').textContent = hint ?? HINT[mode];
    $('draw-done').hidden = mode === 'point';
    $('draw-undo').hidden = mode === 'point';
    bar.hidden = false;
    // On a phone the map sits above the list and the card, and the page scrolls as one: a 画分割线 or
    // 在地图上点选 tapped far down the card started drawing on a map (and a bar) out of sight.
    const at = $('map').getBoundingClientRect();
    if (at.top < 0 || at.bottom > window.innerHeight) $('map').scrollIntoView({ block: 'nearest' });
    $('draw-done').onclick = () => finish(true);
    $('draw-cancel').onclick = () => finish(false);
    $('draw-undo').onclick = () => {
      pts.pop();
      render(mode, pts);
    };
    state.drawing = { mode, points: pts, cancel: () => finish(false) };
    render(mode, pts);
  });
}
