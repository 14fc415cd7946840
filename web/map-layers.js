// The polygon layer's data source: outlines coloured by status, centroid dots below z13, the
// selected polygon highlighted; the data source itself is map-source.js.
import { api } from './api.js';
import { polygonLayer } from './map-source.js';
import * as L from './labels.js';
import { emit, state } from './state.js';

/** Add the polygon source (vector tiles or GeoJSON by bbox, as the server offers: map-source.js) and its layers. */
export async function addPolygonLayers(map) {
  state.polygons = await polygonLayer(map, { api, epoch: () => state.epoch });
  const color = ['match', ['get', 'status'], ...Object.entries(L.STATUS_COLOR).flat(), '#999999'];
  map.addLayer({ id: 'poly-fill', type: 'fill', ...state.polygons.outlines, paint: { 'fill-color': color, 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.45, 0.25] } });
  // The open card's polygon: a cyan halo under its status outline (no status, no imagery is cyan); its
  // neighbours share the status colour, and a thicker line alone was hard to pick out among them.
  const selected = ['boolean', ['feature-state', 'selected'], false];
  map.addLayer({ id: 'poly-halo', type: 'line', ...state.polygons.outlines, paint: { 'line-color': '#22d3ee', 'line-width': 8, 'line-opacity': ['case', selected, 1, 0] } });
  map.addLayer({ id: 'poly-line', type: 'line', ...state.polygons.outlines, paint: { 'line-color': color, 'line-width': ['case', selected, 3.5, 1.6] } });
  // Polygons of a few hundred m² vanish below z13: a dot at each centroid keeps them findable.
  map.addLayer({ id: 'poly-dot', type: 'circle', ...state.polygons.dots, maxzoom: 13, paint: { 'circle-color': color, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  map.on('click', 'poly-dot', (e) => emit('open', e.features[0].properties.code));
  map.on('click', 'poly-fill', (e) => emit('open', e.features[0].properties.code));
  map.on('mouseenter', 'poly-fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'poly-fill', () => (map.getCanvas().style.cursor = ''));
  map.on('moveend', () => {
    clearTimeout(addPolygonLayers.t);
    addPolygonLayers.t = setTimeout(() => loadMapData(true), 150);
  });
}

/**
 * Show on the map what the inbox filters list: status, priority and overdue are on every map feature
 * (the 主办 filter is not: the map keeps the whole scope for it). The open card's polygon stays shown.
 */
export function filterMap({ status, priority, overdue } = state.mapFilter ?? {}) {
  state.mapFilter = { status, priority, overdue };
  if (!state.mapReady) return;
  const conds = [];
  if (status) conds.push(['==', ['get', 'status'], status]);
  if (priority) conds.push(['==', ['get', 'priority'], priority]);
  if (overdue) conds.push(['==', ['to-boolean', ['get', 'overdue']], true]);
  const filter = conds.length ? ['any', ['==', ['get', 'code'], state.selected ?? ''], ['all', ...conds]] : null;
  for (const id of ['poly-fill', 'poly-halo', 'poly-line', 'poly-dot']) state.map.setFilter(id, filter);
}

/** Refresh the polygon layer: after a move (`moved`), or after a change of data or epoch. */
export async function loadMapData(moved = false) {
  if (!state.mapReady || !state.epoch) return;
  await state.polygons.load(moved === true);
  state.polygons.select(state.selected, true);
}

/**
 * The card to fit the map to once it is ready: a card opened before (a `?case=` link, a draft's card
 * after an expired session, an inbox item clicked in the map's first second) is selected then.
 */
let fitWhenReady = null;

/** Select the open card's polygon (null: none); with `card`, fit the map to it. Before the map is ready, recorded for selectWhenReady. */
export function select(code, card) {
  const map = state.map;
  if (state.mapReady) state.polygons.select(state.selected, false);
  // A re-render of the same card (no `card`) keeps the fit it asked for before.
  fitWhenReady = !code ? null : card ?? (code === state.selected ? fitWhenReady : null);
  state.selected = code;
  filterMap(); // the open card's polygon is shown whatever the filters
  if (!state.mapReady || !code) return;
  fitWhenReady = null;
  state.polygons.select(code, true);
  const g = card?.geometry;
  if (g) {
    const pts = g.type === 'Point' ? [g.coordinates] : g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 120, maxZoom: 15, duration: 400 });
  }
}

/** The map now ready: the card opened before it, selected and fitted to as it would have been. */
export function selectWhenReady() {
  if (state.selected) select(state.selected, fitWhenReady);
}
