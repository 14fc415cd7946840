/**
 * Milliseconds per geo/kernels kernel on a seeded synthetic change mask (default 10980², one
 * Sentinel-2 tile). Build first: `npm run build && node dist/scripts/bench-kernels.js [size] [seed]`.
 * The mask is ~1–2 % change: a few thousand blobs (rectangles and discs, 3–60 px) plus 0.3 %
 * single-pixel speckle, like a misregistration-noisy change mask. Single thread.
 */
import { histogram, otsuThreshold, robustUpperThreshold } from '../geo/kernels/threshold.js';
import { createMorphScratch, openClose } from '../geo/kernels/morphology.js';
import { componentStats, labelComponents, removeSmallComponents } from '../geo/kernels/label.js';
import { polygonizeLabels } from '../geo/kernels/polygonize.js';
import { simplifyPolygon } from '../geo/kernels/simplify.js';
import { mulberry32 } from '../fixtures/scene-math.js';

const size = Number(process.argv[2] ?? 10980);
const seed = Number(process.argv[3] ?? 1);
const w = size;
const h = size;
const rand = mulberry32(seed);

const mask = new Uint8Array(w * h);
const blobs = Math.round((w * h) / 30000);
for (let b = 0; b < blobs; b++) {
  const cx = Math.floor(rand() * w);
  const cy = Math.floor(rand() * h);
  const r = 3 + Math.floor(rand() * rand() * 30);
  const disc = rand() < 0.5;
  for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++) {
    for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) {
      if (!disc || (x - cx) ** 2 + (y - cy) ** 2 <= r * r) mask[y * w + x] = 1;
    }
  }
}
for (let k = 0, n = Math.round(w * h * 0.003); k < n; k++) mask[Math.floor(rand() * w * h)] = 1;
let fg = 0;
for (let i = 0; i < mask.length; i++) fg += mask[i];

// A change score: high where the mask is set, noise elsewhere (for histogram / thresholds).
const score = new Float32Array(w * h);
for (let i = 0; i < score.length; i++) score[i] = (mask[i] ? 0.6 : 0.1) + (rand() - 0.5) * 0.2;

const times: Record<string, number> = {};
function time<T>(name: string, f: () => T): T {
  const t0 = performance.now();
  const v = f();
  times[name] = Math.round(performance.now() - t0);
  return v;
}

const bins = new Uint32Array(512);
time('histogram', () => histogram(score, null, -0.5, 1.5, bins));
const thresholds = time('otsu+robust', () => [otsuThreshold(bins, -0.5, 1.5), robustUpperThreshold(bins, -0.5, 1.5, 4)]);

const scratch = time('alloc morph scratch', () => createMorphScratch(w, h));
time('openClose 3×3 (pack+4 passes+unpack)', () => openClose(mask, w, h, scratch));
let fgAfter = 0;
for (let i = 0; i < mask.length; i++) fgAfter += mask[i];

const labels = time('alloc labels', () => new Int32Array(w * h));
const n = time('labelComponents 8', () => labelComponents(mask, w, h, labels, 8));
const stats = time('componentStats (+values)', () => componentStats(labels, w, h, n, score));
const keep = new Uint8Array(n + 1);
const kept = time('removeSmallComponents <10 px', () => removeSmallComponents(labels, w, h, stats, 10, keep));
const polys = time('polygonizeLabels (kept)', () => polygonizeLabels(labels, w, h, n, keep));
let vertices = 0;
let simplified = 0;
time('simplifyPolygon tol 1 px', () => {
  for (const ps of polys) {
    if (!ps) continue;
    for (const p of ps) {
      for (const r of p) vertices += r.length;
      for (const r of simplifyPolygon(p, 1, 4)) simplified += r.length;
    }
  }
});

console.log(JSON.stringify({ size, seed, fgPixels: fg, fgAfterOpenClose: fgAfter, components: n, kept, vertices, simplified, thresholds }));
for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(40)} ${String(v).padStart(7)} ms`);
