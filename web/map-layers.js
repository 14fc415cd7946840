// The polygon layer's data source: outlines coloured by status, centroid dots below z13, the
// selected polygon highlighted; the data source itself is map-source.js.
import { api } from './api.js';
import { polygonLayer } from './map-source.js';
import * as L from './labels.js';
import { emit, state } from './state.js';

/** The outlines' features that are points (a clue reported as a point), drawn as markers. */
const POINTS = ['==', ['geometry-type'], 'Point'];

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
  // A clue reported as a point has no outline: the fill and line layers draw nothing of it, and from z13,
  // where the dots end (its card opens at z15), it was nowhere on the map. A marker of its own, haloed when open.
  map.addLayer({ id: 'poly-point', type: 'circle', ...state.polygons.outlines, minzoom: 13, filter: POINTS, paint: { 'circle-color': color, 'circle-radius': 6, 'circle-stroke-color': ['case', selected, '#22d3ee', '#ffffff'], 'circle-stroke-width': ['case', selected, 4, 1.5] } });
  // Polygons of a few hundred m² vanish below z13: a dot at each centroid keeps them findable.
  map.addLayer({ id: 'poly-dot', type: 'circle', ...state.polygons.dots, maxzoom: 13, paint: { 'circle-color': color, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  // One listener over both layers: where a dot lies on its polygon's fill, one listener per layer
  // opened the card twice (two requests, two fits). Its features come topmost first: the dot's.
  const clickable = ['poly-dot', 'poly-fill', 'poly-point'];
  map.on('click', clickable, (e) => emit('open', e.features[0].properties.code));
  map.on('mouseenter', clickable, () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', clickable, () => (map.getCanvas().style.cursor = ''));
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
  state.map.setFilter('poly-point', filter ? ['all', POINTS, filter] : POINTS);
}

/** Refresh the polygon layer: after a move (`moved`), or after a change of data or epoch. */
export async function loadMapData(moved = false) {
  if (!state.mapReady || !state.epoch) return;
  await state.polygons.load(moved === true);
  state.polygons.select(state.selected, true);
}

/**
 * The fit the open card asks for: its `card` (null while it loads), and `jump`, whether it was opened
 * before the map was ready. A card opened before (a `?case=` link, a draft's card after an expired
 * session, an inbox item clicked in the map's first second) is jumped to, not flown to: a fit animated
 * from the month's whole view asked for that view's polygons and imagery first, wasted once the
 * card's own came in. Kept until a ready map has made it.
 */
let pendingFit = null;

/** The camera the map was made with (the month's view), while a card's fit has moved it before the map is ready. */
let viewBeforeCard = null;

/**
 * Select the open card's polygon (null: none); with `card`, fit the map to it. Called without a card as
 * a card starts loading (card.js openCard): the selection is the card being opened, not the one still
 * shown, so a map ready meanwhile neither highlights nor fits the old one. A re-render of the same card
 * without `card` keeps the fit it asked for before.
 */
export function select(code, card) {
  const map = state.map;
  if (state.mapReady) state.polygons.select(state.selected, false);
  const jump = code === state.selected && pendingFit ? pendingFit.jump : !state.mapReady;
  if (!code) {
    pendingFit = null;
    // A card closed before the map is ready: the map opens on the month's view, not on that card.
    restoreViewBeforeCard();
  } else if (card) pendingFit = { card, jump };
  else if (code !== state.selected) pendingFit = { card: null, jump };
  state.selected = code;
  filterMap(); // the open card's polygon is shown whatever the filters
  if (!code || !map) return;
  if (state.mapReady) state.polygons.select(code, true);
  if (!pendingFit?.card) return;
  // Before the map is ready its camera goes there already, so that its first tiles are the card's;
  // the jump is made again once it is ready (the same view, unless moved meanwhile).
  // Bearing and pitch too: the fit sets both to 0, and a rotated, tilted #map= link came back flat.
  if (!state.mapReady) viewBeforeCard ??= { center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() };
  fitTo(map, pendingFit.card.geometry, !pendingFit.jump);
  if (state.mapReady) pendingFit = null;
}

/** Fit `map` to geometry `g` (a polygon, multipolygon or point), flying there when `animate`, else at once. */
function fitTo(map, g, animate) {
  if (!g) return;
  const pts = g.type === 'Point' ? [g.coordinates] : g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 120, maxZoom: 15, ...(animate ? { duration: 400 } : { animate: false }) });
}

/** Back to the camera the map was made with, if a card's fit moved it before the map was ready. */
function restoreViewBeforeCard() {
  if (viewBeforeCard) state.map.jumpTo(viewBeforeCard);
  viewBeforeCard = null;
}

/**
 * The open card could not be loaded: no fit waits for it. Kept, a card that failed before the map was
 * ready was jumped to when opened again on the ready map, not flown to as any other card. The map is
 * taken back to the month's view if an earlier card's fit moved it before the map was ready: it opened
 * on that card's area, no longer open, under this one's error.
 */
export function dropFit() {
  pendingFit = null;
  restoreViewBeforeCard();
}

/** The map now ready: the card opened before it (or still loading), selected and fitted to as it would have been. */
export function selectWhenReady() {
  viewBeforeCard = null;
  if (state.selected) select(state.selected, pendingFit?.card ?? undefined);
}
