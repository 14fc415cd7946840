// What the card and the forms draw over the polygons: a split polygon's parcels (by verdict), the
// field photos' positions with their viewing direction, and the drawing in progress.
import { along } from './geo.js';
import * as L from './labels.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
let map = null;
/** What each source shows, kept while the map is not ready (a card opened before it): drawn once it is. */
const shown = { parcels: EMPTY, photos: EMPTY, draw: EMPTY };

export function addOverlays(m) {
  map = m;
  m.addSource('parcels', { type: 'geojson', data: shown.parcels });
  const byVerdict = ['match', ['coalesce', ['get', 'verdict'], 'none'], ...Object.entries(L.VERDICT_COLOR).flat(), '#f8f9fa'];
  m.addLayer({ id: 'parcel-fill', type: 'fill', source: 'parcels', paint: { 'fill-color': byVerdict, 'fill-opacity': 0.35 } });
  m.addLayer({ id: 'parcel-line', type: 'line', source: 'parcels', paint: { 'line-color': '#ffffff', 'line-width': 2, 'line-dasharray': [2, 1] } });
  m.addSource('photos', { type: 'geojson', data: shown.photos });
  m.addLayer({ id: 'photo-dir', type: 'line', source: 'photos', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#ffd43b', 'line-width': 3 } });
  m.addLayer({ id: 'photo-pt', type: 'circle', source: 'photos', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#ffd43b', 'circle-radius': 6, 'circle-stroke-color': '#000', 'circle-stroke-width': 1.5 } });
  m.addSource('draw', { type: 'geojson', data: shown.draw });
  m.addLayer({ id: 'draw-fill', type: 'fill', source: 'draw', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#4dabf7', 'fill-opacity': 0.3 } });
  m.addLayer({ id: 'draw-line', type: 'line', source: 'draw', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#4dabf7', 'line-width': 2.5 } });
  m.addLayer({ id: 'draw-pt', type: 'circle', source: 'draw', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#fff', 'circle-radius': 5, 'circle-stroke-color': '#1c7ed6', 'circle-stroke-width': 2 } });
}

function set(source, features) {
  shown[source] = { type: 'FeatureCollection', features };
  map?.getSource(source)?.setData(shown[source]);
}

/** Parcels: [{geometry, verdict?, idx?}]. */
export function showParcels(parcels) {
  set('parcels', (parcels ?? []).map((p, i) => ({ type: 'Feature', geometry: p.geometry, properties: { idx: p.idx ?? i + 1, verdict: p.verdict ?? null } })));
}

/** Photo evidence with EXIF position: a dot, and a 30 m line in the direction the camera looked. */
export function showPhotos(evidence) {
  const features = [];
  for (const e of evidence ?? []) {
    const x = e.exif;
    if (x?.lon == null || x?.lat == null) continue;
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.lon, x.lat] }, properties: { id: e.id } });
    if (x.azimuth != null) features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[x.lon, x.lat], along([x.lon, x.lat], x.azimuth, 30)] }, properties: { id: e.id } });
  }
  set('photos', features);
}

/** The drawing in progress: its vertices and the line or ring through them. */
export function showDrawing(features) {
  set('draw', features);
}
