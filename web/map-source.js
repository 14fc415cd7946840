// The map's polygon layer: which data source it reads and how it refreshes. The server says which
// (GET /api/map/layer): vector tiles from PostGIS ST_AsMVT on a PostgreSQL server, or GeoJSON by
// bounding box on the embedded database (its PostGIS lacks protobuf-c): the view's, half a view wider
// on each side, so a pan that stays inside it asks nothing (MapLibre keeps tiles by itself). Both are
// scope-filtered on the server; both answer 304 to the browser's revalidation when nothing changed.
//
// Usage (web/app.js): const layer = await polygonLayer(map, { api, epoch: () => state.epoch });
//   map.addLayer({ id, type, ...layer.outlines, paint })   // source (+ source-layer) of the outlines
//   map.addLayer({ id, type, ...layer.dots, paint })       // source (+ source-layer) of the centroid dots
//   layer.load(moved)        after a move (moved = true) or a change of data/epoch (moved = false)
//   layer.select(code, on)   the selection highlight (feature state keyed by code)

const EMPTY = { type: 'FeatureCollection', features: [] };

/** Add the polygon source(s) to `map` and return how to use them. */
export async function polygonLayer(map, { api, epoch }) {
  const info = await api(`/api/map/layer${epoch() ? `?epoch=${encodeURIComponent(epoch())}` : ''}`);
  return info.format === 'mvt' ? vectorLayer(map, info, epoch) : geojsonLayer(map, info, api, epoch);
}

/**
 * More polygons in view than the layer sends (its cap, 10 000 a bounding box or a tile's layer): say
 * so, or a district's last codes would be missing from a city-zoom map without a word.
 */
function noteTruncated(on) {
  const note = document.getElementById('map-note');
  if (note) note.hidden = !on;
}

function vectorLayer(map, info, epoch) {
  const { polygons, centroids, truncated } = info.layers;
  const tiles = () => [`${location.origin}/api/map/tiles/{z}/{x}/{y}.pbf${epoch() ? `?epoch=${encodeURIComponent(epoch())}` : ''}`];
  // Outlines from z12, dots below z13 (server/workflow/map-layer.ts); beyond z16 the z16 tiles are overzoomed.
  map.addSource('polygons', { type: 'vector', tiles: tiles(), minzoom: 8, maxzoom: 16, promoteId: { [polygons]: 'code', [centroids]: 'code' } });
  let shown = tiles()[0];
  // A tile cut at the cap carries a layer `truncated` (map-layer.ts): MapLibre shows the page no
  // tile's headers, but the layers of the tiles in view it does, drawn or not.
  if (truncated) map.on('idle', () => noteTruncated(map.querySourceFeatures('polygons', { sourceLayer: truncated }).length > 0));
  return {
    kind: 'mvt',
    outlines: { source: 'polygons', 'source-layer': polygons },
    dots: { source: 'polygons', 'source-layer': centroids },
    // Tiles follow the view by themselves; after a write or another epoch they are fetched again
    // (the browser revalidates each with its ETag: unchanged tiles come back as 304).
    async load(moved) {
      if (moved) return;
      const next = tiles();
      shown = next[0];
      map.getSource('polygons')?.setTiles(next);
    },
    select(code, on) {
      if (code) map.setFeatureState({ source: 'polygons', sourceLayer: polygons, id: code }, { selected: on });
    },
    get url() {
      return shown;
    },
  };
}

/** The view's box [west, south, east, north], widened by `pad` of its width and height on each side, within the world. */
export function paddedBox(bb, pad) {
  const [w, s, e, n] = bb;
  const dx = (e - w) * pad;
  const dy = (n - s) * pad;
  return [Math.max(-180, w - dx), Math.max(-90, s - dy), Math.min(180, e + dx), Math.min(90, n + dy)];
}

const inside = (box, [w, s, e, n]) => w >= box[0] && s >= box[1] && e <= box[2] && n <= box[3];

function geojsonLayer(map, info, api, epoch) {
  map.addSource('polygons', { type: 'geojson', data: EMPTY, promoteId: 'code' });
  map.addSource('centroids', { type: 'geojson', data: EMPTY });
  let seq = 0;
  /** What the layer shows, and what the load on its way will: box, zoom (the server simplifies to it), month, and whether the cap cut it. */
  let held = null;
  let asking = null;
  const ask = async (box, zoom, month) => {
    const p = new URLSearchParams({ bbox: box.map((v) => v.toFixed(6)).join(','), zoom: String(zoom) });
    if (month) p.set('epoch', month);
    return api(`${info.url.split('?')[0]}?${p}`);
  };
  /** Put an answer on the map: outlines and their dots, or below z12 the centroids alone. */
  const show = (fc) => {
    noteTruncated(fc.truncated);
    // Below z12 the server sends only what is drawn there, the centroids (`centroids: true`).
    if (fc.centroids) {
      map.getSource('polygons')?.setData(EMPTY);
      map.getSource('centroids')?.setData(fc);
      return;
    }
    map.getSource('polygons')?.setData(fc);
    // The dots carry what the style and the inbox's filters read (filterMap: status, priority, overdue).
    const dots = fc.features
      .filter((f) => f.properties.centroid_lon != null)
      .map(({ properties: { code, status, overdue, priority, centroid_lon, centroid_lat } }) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [centroid_lon, centroid_lat] }, properties: { code, status, overdue, priority } }));
    map.getSource('centroids')?.setData({ type: 'FeatureCollection', features: dots });
  };
  const viewBox = () => {
    const bb = map.getBounds();
    return [bb.getWest(), bb.getSouth(), bb.getEast(), bb.getNorth()];
  };
  return {
    kind: 'geojson',
    outlines: { source: 'polygons' },
    dots: { source: 'centroids' },
    async load(moved) {
      const view = viewBox();
      const zoom = Math.max(0, Math.round(map.getZoom()));
      const month = epoch();
      const same = (c) => c && c.zoom === zoom && c.month === month;
      // A pan within what the layer shows (or the load on its way will) asks nothing; a write or
      // another month (not `moved`) always asks again. A box the cap cut holds only part of itself.
      const covering = asking ?? held;
      if (moved && same(covering) && !covering.truncated && inside(covering.box, view)) return;
      const mine = ++seq;
      // Half a view more on each side, so the next small pans stay inside it; not where the cap cut
      // the last answer at this zoom (a dense district: a wider box would be cut too).
      let box = same(held) && held.truncated ? view : paddedBox(view, 0.5);
      let fc;
      try {
        asking = { box, zoom, month, truncated: false };
        fc = await ask(box, zoom, month);
        if (mine !== seq) return; // a later view's answer is already on its way
        if (fc.truncated && box !== view) {
          // The cap cut the padded box in code order, not by distance to the view: the polygons in
          // view could be the ones left out. The view alone then.
          box = view;
          asking = { box, zoom, month, truncated: true };
          fc = await ask(box, zoom, month);
          if (mine !== seq) return;
        }
      } finally {
        if (mine === seq) asking = null;
      }
      held = { box, zoom, month, truncated: fc.truncated === true };
      show(fc);
      // A pan skipped while this was on its way, to where this box does not reach: that view now
      // (a pan still moving asks at its end).
      if (!map.isMoving() && !inside(box, viewBox())) await this.load(true);
    },
    select(code, on) {
      if (code) map.setFeatureState({ source: 'polygons', id: code }, { selected: on });
    },
  };
}
