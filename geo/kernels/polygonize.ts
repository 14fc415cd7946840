/**
 * Label image → polygons whose rings run along pixel edges.
 *
 * Coordinates are pixel corners [col, row]: [0, 0] is the top-left corner of pixel 0 and
 * pixel (c, r) covers [c, c+1]×[r, r+1]. Map them with `pixelToMap` from geo/raster.ts.
 *
 * Topology rule (why the output is always valid OGC geometry):
 * - One polygon per 4-connected part of a label. An 8-connected label whose parts touch only
 *   at a corner yields several polygons that touch at that point (a valid MultiPolygon).
 * - Holes are the bounded 4-connected regions of everything that is not the part (background,
 *   other labels, other parts of the same label). A background pixel that reaches the outside
 *   only through a diagonal gap is therefore a hole touching the shell at one vertex — allowed —
 *   never a pinch in the shell.
 * - At a vertex where two pixels of the part meet diagonally the ring keeps the background
 *   pixel on its side (the shell goes "through" the corner); where the two diagonal pixels
 *   belong to different parts, each part keeps its own corner. Each ring thus passes every vertex
 *   at most once: no ring touches itself.
 * Orientation: shells have positive `ringArea` (clockwise on screen, row down), holes negative.
 * Vertices are kept only at direction changes (straight runs merged); rings are closed.
 */
import { labelComponents, type ComponentStats } from './label.js';
import { ringArea } from './ring.js';

/** GeoJSON-like polygon: rings of [col, row]; first the shell, then holes. */
export type PixelPolygon = number[][][];

// Directions 0 E, 1 S, 2 W, 3 N (row grows southwards).
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/**
 * Polygons of labels 1…n (entries of `labels` outside 1…n are ignored as background).
 * Returns an array of n + 1 entries indexed by label: the label's polygons (one per 4-connected
 * part, in scan order of the part's first pixel), or null for label 0, labels without pixels and
 * labels with keep[label] !== 1 when `keep` is given. Work per label is proportional to its
 * bbox area (plus its boundary length). The bboxes are `bbox` when given (componentStats of the
 * same labels: the detector has them already); otherwise the whole image is scanned once for them.
 */
export function polygonizeLabels(
  labels: Int32Array,
  w: number,
  h: number,
  n: number,
  keep?: Uint8Array,
  bbox?: LabelBoxes,
): (PixelPolygon[] | null)[] {
  if (labels.length < w * h) throw new Error(`polygonizeLabels: labels has ${labels.length} entries, need ${w * h}.`);
  if (bbox && bbox.maxRow.length < n + 1) throw new Error(`polygonizeLabels: bbox covers ${bbox.maxRow.length - 1} labels, need ${n}.`);
  const { minCol, minRow, maxCol, maxRow } = bbox ?? labelBoxes(labels, w, h, n);

  const out: (PixelPolygon[] | null)[] = new Array(n + 1).fill(null);
  // Grow-only scratch shared by all labels: padded local grid, its 4-connected part ids,
  // and the union-find table.
  let grid = new Uint8Array(0);
  let parts = new Int32Array(0);
  let parent = new Int32Array(0);
  for (let l = 1; l <= n; l++) {
    if (maxRow[l] < 0) continue; // no pixels
    if (keep !== undefined && keep[l] !== 1) continue;
    const c0 = minCol[l];
    const r0 = minRow[l];
    // One pixel of padding on every side, so the ring walk never leaves the grid.
    const gw = maxCol[l] - c0 + 3;
    const gh = maxRow[l] - r0 + 3;
    const gsize = gw * gh;
    if (grid.length < gsize) {
      const cap = Math.max(gsize, grid.length * 2);
      grid = new Uint8Array(cap);
      parts = new Int32Array(cap);
      parent = new Int32Array(cap + 1);
    }
    grid.fill(0, 0, gsize);
    for (let y = 1; y < gh - 1; y++) {
      const src = (r0 + y - 1) * w + c0 - 1;
      const dst = y * gw;
      for (let x = 1; x < gw - 1; x++) if (labels[src + x] === l) grid[dst + x] = 1;
    }
    const nParts = labelComponents(grid, gw, gh, parts, 4, { parent });
    out[l] = traceRings(grid, parts, gw, gh, nParts, c0 - 1, r0 - 1);
  }
  return out;
}

/** Inclusive bounding box per label (index = label); maxRow < 0 for labels without pixels. */
export type LabelBoxes = Pick<ComponentStats, 'minCol' | 'minRow' | 'maxCol' | 'maxRow'>;

function labelBoxes(labels: Int32Array, w: number, h: number, n: number): LabelBoxes {
  const minCol = new Int32Array(n + 1).fill(0x7fffffff);
  const minRow = new Int32Array(n + 1).fill(-1);
  const maxCol = new Int32Array(n + 1).fill(-1);
  const maxRow = new Int32Array(n + 1).fill(-1);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const l = labels[row + x];
      if (l <= 0 || l > n) continue;
      if (minRow[l] < 0) minRow[l] = y;
      maxRow[l] = y;
      if (x < minCol[l]) minCol[l] = x;
      if (x > maxCol[l]) maxCol[l] = x;
    }
  }
  return { minCol, minRow, maxCol, maxRow };
}

/**
 * Walk every boundary of the padded 0/1 `grid` (bit 1 is used here to mark top edges already
 * walked). Returns one polygon per part; ox/oy shift local corners to image corners.
 */
function traceRings(
  grid: Uint8Array,
  parts: Int32Array,
  gw: number,
  gh: number,
  nParts: number,
  ox: number,
  oy: number,
): PixelPolygon[] {
  const polys: PixelPolygon[] = [];
  for (let k = 0; k < nParts; k++) polys.push([]);
  const holes: number[][][][] = [];
  for (let k = 0; k < nParts; k++) holes.push([]);
  for (let y = 1; y < gh - 1; y++) {
    for (let x = 1; x < gw - 1; x++) {
      const p = y * gw + x;
      // Every ring contains an eastward top edge (fg below, bg above); start from unwalked ones.
      if ((grid[p] & 3) !== 1 || (grid[p - gw] & 1) !== 0) continue;
      const part = parts[p];
      const ring: number[][] = [];
      let vx = x;
      let vy = y;
      let d = 0;
      for (;;) {
        if (d === 0) grid[vy * gw + vx] |= 2; // top edge of the pixel south-east of the vertex
        vx += DX[d];
        vy += DY[d];
        const se = vy * gw + vx;
        // Pixels ahead-left / ahead-right of the vertex, and the one we walked along (behind-right).
        let al: number;
        let ar: number;
        let br: number;
        if (d === 0) {
          al = se - gw; // NE
          ar = se; // SE
          br = se - 1; // SW
        } else if (d === 1) {
          al = se; // SE
          ar = se - 1; // SW
          br = se - gw - 1; // NW
        } else if (d === 2) {
          al = se - 1; // SW
          ar = se - gw - 1; // NW
          br = se - gw; // NE
        } else {
          al = se - gw - 1; // NW
          ar = se - gw; // NE
          br = se; // SE
        }
        const alFg = (grid[al] & 1) !== 0;
        let nd: number;
        if ((grid[ar] & 1) !== 0) nd = alFg ? (d + 3) & 3 : d;
        else if (!alFg) nd = (d + 1) & 3;
        else nd = parts[al] === parts[br] ? (d + 3) & 3 : (d + 1) & 3; // diagonal: see module doc
        if (nd !== d) ring.push([ox + vx, oy + vy]);
        d = nd;
        if (d === 0 && vx === x && vy === y) break;
      }
      // The start vertex is a corner (the edge before it runs north or south) and was pushed
      // last; put it first so rings start at their top-left corner.
      ring.unshift(ring.pop()!);
      ring.push([ring[0][0], ring[0][1]]);
      if (ringArea(ring) > 0) polys[part - 1].push(ring);
      else holes[part - 1].push(ring);
    }
  }
  for (let k = 0; k < nParts; k++) for (const hole of holes[k]) polys[k].push(hole);
  return polys;
}
