/**
 * The embedded runner's head start on finalising. In one process the batch's tail otherwise runs
 * one step after another on two threads that wait for each other: the last tile's detections are
 * stored (the database thread busy, the main thread idle), then finalising reads the zone files
 * and overlays every detection with them (the main thread busy, the database idle). Here the zone
 * files are read once per batch (planning already reads them to check for districts) and each
 * tile's detections are overlaid while the database stores them, in slices short enough that the
 * storing transaction's next statement is never held up for long.
 *
 * Finalising still takes its detections from the database; it uses an overlay from here only for
 * a detection whose stored geometry is the very same (same tile, index and coordinates), and
 * computes any other itself, so the polygons are those of a run without a head start (the queue
 * path's).
 */
import type { Polygon } from 'geojson';
import type { Detection } from '../model.js';
import type { OverlayResult } from '../route/overlay.js';
import type { ZoneLoader } from '../zones.js';
import type { BatchArgs } from './batch-args.js';
import { loadBatchZones, overlayDetection, type BatchZones, type FinaliseHeadStart } from './finalise-batch.js';

/** Longest run of overlays between two turns of the event loop, ms (a stored statement waits at most this). */
const SLICE_MS = 8;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FinaliseAhead {
  private zones: Promise<BatchZones> | undefined;
  private readonly done = new Map<string, { geometry: Polygon; overlay: OverlayResult }>();
  private work: Promise<void> = Promise.resolve();
  private readonly args: BatchArgs;
  private readonly loadZones: ZoneLoader;

  constructor(args: BatchArgs, loadZones: ZoneLoader) {
    this.args = args;
    this.loadZones = loadZones;
  }

  /** The batch's zones, loaded (and indexed) on first use. */
  private batchZones(): Promise<BatchZones> {
    if (!this.zones) {
      this.zones = loadBatchZones(this.args, this.loadZones);
      // Finalising awaits the same promise and reports the failure there.
      this.zones.catch(() => undefined);
    }
    return this.zones;
  }

  /** A tile's detections, about to be stored: overlay them meanwhile, a slice at a time. */
  detected(detections: readonly Detection[]): void {
    const zones = this.batchZones();
    this.work = this.work.then(async () => {
      try {
        const z = await zones;
        let sliceStart = performance.now();
        for (const d of detections) {
          this.done.set(keyOf(d), { geometry: d.geometry, overlay: overlayDetection(d, z) });
          if (performance.now() - sliceStart > SLICE_MS) {
            await nextTurn();
            sliceStart = performance.now();
          }
        }
      } catch {
        // Nothing is lost: finalising overlays what is missing here itself, and meets the error there.
      }
    });
  }

  /** What finalising may use: the zones and, once the pending slices are done, the overlays by detection (each given once). */
  headStart(): FinaliseHeadStart {
    return {
      zones: this.batchZones(),
      overlays: async () => {
        await this.work;
        // Finalising asks once per detection: each answer is let go as it is given, so the
        // detections' geometries held here are not kept alive through the outputs.
        return (d) => {
          const key = keyOf(d);
          const e = this.done.get(key);
          this.done.delete(key);
          return e && sameRings(e.geometry, d.geometry) ? e.overlay : undefined;
        };
      },
    };
  }
}

const keyOf = (d: Detection) => `${d.tileId}#${d.index}`;

/** Same polygon, coordinate for coordinate (the database gives back the doubles it was given). */
function sameRings(a: Polygon, b: Polygon): boolean {
  if (a.type !== b.type || a.coordinates.length !== b.coordinates.length) return false;
  for (let r = 0; r < a.coordinates.length; r++) {
    const ra = a.coordinates[r];
    const rb = b.coordinates[r];
    if (ra.length !== rb.length) return false;
    for (let i = 0; i < ra.length; i++) {
      const pa = ra[i];
      const pb = rb[i];
      if (pa.length !== pb.length) return false;
      for (let k = 0; k < pa.length; k++) if (pa[k] !== pb[k]) return false;
    }
  }
  return true;
}
