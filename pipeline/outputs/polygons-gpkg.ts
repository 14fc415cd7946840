/**
 * polygons.gpkg: the batch's monitoring polygons as one GeoPackage layer, with the GeoJSON's
 * properties (lists and objects as JSON text). `polygonsGpkgBytesOnThread` encodes it on a worker
 * thread of its own (`polygons-gpkg-worker.ts`): the batch's output writers need nothing from each
 * other, and sql.js starts in ~0.05 s there, so the GeoPackage (~0.5 s for 5 000 polygons of a full
 * tile) is written on the other core while the main thread writes the GeoJSON and the ledger.
 * Same function, same bytes.
 */
import { Worker } from 'node:worker_threads';
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

export interface GpkgReply {
  bytes?: Uint8Array;
  error?: { message: string; stack?: string };
}

/** The worker next to this module: .js in the build, .ts when run from source under vitest (test-support/). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './polygons-gpkg-worker.ts' : './polygons-gpkg-worker.js', import.meta.url);
}

/** `polygonsGpkgBytes`, computed on a new worker thread that ends once it has answered. */
export function polygonsGpkgBytesOnThread(polygons: readonly MonitoringPolygon[], bureaus: BureauNames): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const worker = new Worker(workerUrl(), { workerData: { polygons, bureaus } });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (r: GpkgReply) =>
      settle(() => {
        if (r.bytes) resolve(r.bytes);
        else reject(Object.assign(new Error(`polygons.gpkg: ${r.error?.message ?? 'no reply'}`), { stack: r.error?.stack }));
      }),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`polygons.gpkg: the encoding thread stopped (exit ${code}) before answering`))));
  });
}
