// The polygon layer's data source: outlines coloured by status, centroid dots below z13, the
// selected polygon highlighted. Moved verbatim from app.js (the data source itself is i13-api's:
// a change there lands here without touching the rest of the page).
import { api } from './api.js';
import { query } from './inbox.js';
import * as L from './labels.js';
import { emit, state } from './state.js';

/** Add the polygon sources and layers (on the map's load). */
export function addPolygonLayers(map) {
  map.addSource('polygons', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'code' });
  const color = ['match', ['get', 'status'], ...Object.entries(L.STATUS_COLOR).flat(), '#999999'];
  map.addLayer({ id: 'poly-fill', type: 'fill', source: 'polygons', paint: { 'fill-color': color, 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.45, 0.25] } });
  map.addLayer({ id: 'poly-line', type: 'line', source: 'polygons', paint: { 'line-color': color, 'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3.5, 1.6] } });
  // Polygons of a few hundred m² vanish below z13: a dot at each centroid keeps them findable.
  map.addSource('centroids', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'poly-dot', type: 'circle', source: 'centroids', maxzoom: 13, paint: { 'circle-color': color, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  map.on('click', 'poly-dot', (e) => emit('open', e.features[0].properties.code));
  map.on('click', 'poly-fill', (e) => emit('open', e.features[0].properties.code));
  map.on('mouseenter', 'poly-fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'poly-fill', () => (map.getCanvas().style.cursor = ''));
  map.on('moveend', () => {
    clearTimeout(addPolygonLayers.t);
    addPolygonLayers.t = setTimeout(loadMapData, 150);
  });
}

export async function loadMapData() {
  if (!state.mapReady || !state.epoch) return;
  const bb = state.map.getBounds();
  const bbox = [bb.getWest(), bb.getSouth(), bb.getEast(), bb.getNorth()].map((v) => v.toFixed(6)).join(',');
  const fc = await api(`/api/polygons.geojson?${query({ bbox, limit: 10000 })}`);
  state.map.getSource('polygons')?.setData(fc);
  const dots = fc.features
    .filter((f) => f.properties.centroid_lon != null)
    .map((f) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [f.properties.centroid_lon, f.properties.centroid_lat] }, properties: { code: f.properties.code, status: f.properties.status } }));
  state.map.getSource('centroids')?.setData({ type: 'FeatureCollection', features: dots });
  if (state.selected) state.map.setFeatureState({ source: 'polygons', id: state.selected }, { selected: true });
}

export function select(code, card) {
  const map = state.map;
  if (!state.mapReady) return;
  if (state.selected) map.setFeatureState({ source: 'polygons', id: state.selected }, { selected: false });
  state.selected = code;
  if (!code) return;
  map.setFeatureState({ source: 'polygons', id: code }, { selected: true });
  const g = card?.geometry;
  if (g) {
    const pts = g.type === 'Point' ? [g.coordinates] : g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 120, maxZoom: 15, duration: 400 });
  }
}
