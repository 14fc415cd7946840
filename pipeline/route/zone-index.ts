/**
 * A static spatial index over zone polygons (or 三调 parcels), built once per batch: flatbush over
 * each item's lon/lat bounding box, so overlaying a change polygon only intersects the few zones whose
 * boxes it touches. Bounding boxes are [minLon, minLat, maxLon, maxLat] in degrees (EPSG:4326).
 */
import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon } from 'geojson';
import { bboxOf, type BBox } from '../../geo/bbox.js';
import type { Zone } from '../model.js';

export { bboxOf, type BBox };

export class ZoneIndex<T extends { geometry: Polygon | MultiPolygon } = Zone> {
  readonly items: readonly T[];
  /** Four numbers per item, in item order: minLon, minLat, maxLon, maxLat. */
  readonly bboxes: Float64Array;
  /** Items whose geometry has no coordinates; not indexed. */
  readonly emptyCount: number;
  private readonly index: Flatbush | null;
  private readonly ids: Int32Array;

  constructor(items: readonly T[]) {
    this.items = items;
    this.bboxes = new Float64Array(items.length * 4);
    const usable: number[] = [];
    items.forEach((item, i) => {
      const b = bboxOf(item.geometry);
      this.bboxes.set(b, i * 4);
      if (Number.isFinite(b[0])) usable.push(i);
    });
    this.emptyCount = items.length - usable.length;
    this.ids = Int32Array.from(usable);
    // Flatbush refuses zero items; an empty layer simply has no candidates.
    if (usable.length === 0) {
      this.index = null;
      return;
    }
    const fb = new Flatbush(usable.length);
    for (const i of usable) fb.add(this.bboxes[i * 4], this.bboxes[i * 4 + 1], this.bboxes[i * 4 + 2], this.bboxes[i * 4 + 3]);
    fb.finish();
    this.index = fb;
  }

  get size(): number {
    return this.items.length;
  }

  bbox(i: number): BBox {
    return [this.bboxes[i * 4], this.bboxes[i * 4 + 1], this.bboxes[i * 4 + 2], this.bboxes[i * 4 + 3]];
  }

  /** Indices (into `items`, ascending) of items whose bounding box intersects `bbox`. */
  candidateIndices(bbox: BBox, filter?: (item: T) => boolean): number[] {
    if (!this.index) return [];
    const hits = this.index.search(bbox[0], bbox[1], bbox[2], bbox[3]).map((k) => this.ids[k]);
    hits.sort((a, b) => a - b); // deterministic order regardless of tree layout
    return filter ? hits.filter((i) => filter(this.items[i])) : hits;
  }

  /** Items whose bounding box intersects `bbox`, in input order. */
  candidates(bbox: BBox, filter?: (item: T) => boolean): T[] {
    return this.candidateIndices(bbox, filter).map((i) => this.items[i]);
  }
}
