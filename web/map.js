// The map: MapLibre over the batch's own imagery (after/before epochs, switchable), no basemap from
// the internet. The polygon layer is map-layers.js; parcels, photos and drawings are map-overlays.js.
import { SESSION_EXPIRED } from './api.js';
import { $ } from './dom.js';
import { addPolygonLayers, filterMap, loadMapData, selectWhenReady } from './map-layers.js';
import { addOverlays } from './map-overlays.js';
import { emit, state } from './state.js';

function imageryTiles(side) {
  return [`${location.origin}/api/imagery/${state.epoch}/${side}/{z}/{x}/{y}.png`];
}

/** MapLibre's own words (its buttons' tooltips, what a screen reader says of the map) in the page's Chinese: its defaults are English. */
const MAP_LOCALE = {
  'Map.Title': '地图',
  'NavigationControl.ZoomIn': '放大',
  'NavigationControl.ZoomOut': '缩小',
  'NavigationControl.ResetBearing': '拖动旋转地图，单击恢复正北',
};

function epochBounds() {
  return state.epochs.find((e) => e.epoch === state.epoch)?.bounds ?? null;
}

export function initMap() {
  if (state.map) return;
  const b = epochBounds();
  const map = new maplibregl.Map({
    container: 'map',
    hash: 'map',
    // Tiles sit behind the bearer token; MapLibre's requests get the header here.
    transformRequest: (url) => (url.startsWith(`${location.origin}/api/`) && state.token ? { url, headers: { Authorization: `Bearer ${state.token}` } } : undefined),
    style: {
      version: 8,
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#1d2327' } }],
    },
    bounds: location.hash.includes('map=') || !b ? undefined : b,
    fitBoundsOptions: { padding: 20 },
    center: b ? [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] : [117, 36.67],
    zoom: 12,
    maxZoom: 19,
    fadeDuration: 0,
    attributionControl: false,
    locale: MAP_LOCALE,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  state.map = map;
  map.on('error', onMapError);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('load', async () => {
    addImagery();
    // Awaited: the layer's data source may first ask the server which kind it offers (map-layers.js).
    await addPolygonLayers(map);
    addOverlays(map);
    state.mapReady = true;
    // What the inbox's filters list (filterMap kept them while the map was not ready: the list comes first).
    filterMap();
    // The card opened meanwhile (a ?case= link opens it as soon as the inbox is in); its parcels and photos are drawn by addOverlays.
    selectWhenReady();
    loadMapData();
  });
}

/**
 * A request of the map's own (imagery, polygon tiles) that failed. A 401 is the session ended, as for
 * the page's other calls (api.js): sign out, keeping what was typed; without this the map went on
 * showing a month it could no longer fetch. Anything else is logged in words: MapLibre's default logs
 * the error object, which for a tile fetched in its worker reads as a bare minified class name.
 */
function onMapError(ev) {
  const err = ev.error ?? {};
  if (err.status === 401) return void emit('signed-out', SESSION_EXPIRED);
  console.error(`地图请求失败${err.status ? `（HTTP ${err.status}）` : ''}：${err.url ?? err.message ?? String(err)}`);
}

function addImagery() {
  const map = state.map;
  if (map.getLayer('imagery')) map.removeLayer('imagery');
  if (map.getSource('imagery')) map.removeSource('imagery');
  // A month without imagery (clues only) has no tiles to ask for.
  if (!state.epoch || !state.epochs.some((e) => e.epoch === state.epoch)) return;
  const b = epochBounds();
  map.addSource('imagery', { type: 'raster', tiles: imageryTiles(state.side), tileSize: 256, ...(b ? { bounds: b } : {}), minzoom: 8, maxzoom: 18 });
  map.addLayer({ id: 'imagery', type: 'raster', source: 'imagery', paint: { 'raster-fade-duration': 0 } }, map.getLayer('poly-fill') ? 'poly-fill' : undefined);
}

export function setImagery(side) {
  state.side = side;
  $('show-after').setAttribute('aria-checked', String(side === 'after'));
  $('show-before').setAttribute('aria-checked', String(side === 'before'));
  if (state.mapReady) addImagery();
}

export function fitToEpoch() {
  const b = epochBounds();
  if (b && state.map) state.map.fitBounds(b, { padding: 20, animate: false });
}

export function wireImagerySwitch() {
  $('show-after').addEventListener('click', () => setImagery('after'));
  $('show-before').addEventListener('click', () => setImagery('before'));
}
