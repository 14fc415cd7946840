/**
 * polygons.gpkg: the batch's monitoring polygons as one GeoPackage layer, with the GeoJSON's
 * properties (lists and objects as JSON text). The batch encodes it on a thread of its own
 * (`polygons-gpkg-thread.ts`).
 */
import type { RuleTable } from '../../schemas/rule-table.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { encodeGeoPackage, type GpkgLayer } from '../../geo/vector/write-gpkg.js';
import { polygonFeature } from './polygons-geojson.js';

/** The bureaus' display names, as the rule table gives them (the name is the id where it has none). */
export type BureauNames = RuleTable['bureaus'];

export function polygonsGpkgLayer(polygons: readonly MonitoringPolygon[], bureaus: BureauNames): GpkgLayer {
  const bureauName = (id: keyof BureauNames) => bureaus[id]?.name_zh ?? id;
  return {
    name: 'polygons',
    features: polygons.map((p) => {
      const f = polygonFeature(p, bureauName);
      const props: Record<string, string | number | boolean | null> = {};
      for (const [k, v] of Object.entries(f.properties ?? {})) props[k] = v === null || typeof v !== 'object' ? (v as string | number | boolean | null) : JSON.stringify(v);
      return { geometry: p.geometry, properties: props };
    }),
  };
}

/** The bytes of polygons.gpkg, encoded here. */
export function polygonsGpkgBytes(polygons: readonly MonitoringPolygon[], bureaus: BureauNames): Promise<Uint8Array> {
  return encodeGeoPackage([polygonsGpkgLayer(polygons, bureaus)]);
}
