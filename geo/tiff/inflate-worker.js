// Plain JS on purpose: this file is loaded with `new Worker(new URL('./inflate-worker.js', import.meta.url))`
// both from source (vitest) and from dist, and Node cannot start a worker from a .ts file.
// It turns one compressed TIFF chunk (tile or strip) into Float32 sample planes of a sub-rectangle.
import { readFileSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';

/** Undo TIFF horizontal differencing (predictor 2) in place; `stride` = samples per pixel. */
function undoPredictor2(view, rowLen, rows, stride) {
  for (let r = 0; r < rows; r++) {
    const end = (r + 1) * rowLen;
    for (let i = r * rowLen + stride; i < end; i++) view[i] += view[i - stride];
  }
}

/**
 * Undo the floating-point predictor (3): each row holds the bytes of its values split into planes,
 * most significant byte first, then byte-differenced `spp` bytes apart (libtiff's fpAcc, whose
 * stride is the samples per pixel; geotiff.js agrees). Returns a new little-endian buffer.
 */
function undoPredictor3(bytes, width, rows, spp, bps) {
  const out = new Uint8Array(bytes.length);
  const n = width * spp;
  const rowBytes = n * bps;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let i = base + spp; i < base + rowBytes; i++) bytes[i] = (bytes[i] + bytes[i - spp]) & 0xff;
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < bps; b++) out[base + i * bps + (bps - 1 - b)] = bytes[base + b * n + i];
    }
  }
  return out;
}

function typedView(buf, bps, sampleFormat) {
  const ab = buf.buffer;
  if (buf.byteOffset % bps !== 0) return typedView(new Uint8Array(buf), bps, sampleFormat);
  const len = Math.floor(buf.byteLength / bps);
  if (sampleFormat === 3) return bps === 4 ? new Float32Array(ab, buf.byteOffset, len) : new Float64Array(ab, buf.byteOffset, len);
  if (sampleFormat === 2) return bps === 1 ? new Int8Array(ab, buf.byteOffset, len) : bps === 2 ? new Int16Array(ab, buf.byteOffset, len) : new Int32Array(ab, buf.byteOffset, len);
  return bps === 1 ? new Uint8Array(ab, buf.byteOffset, len) : bps === 2 ? new Uint16Array(ab, buf.byteOffset, len) : new Uint32Array(ab, buf.byteOffset, len);
}

/**
 * Decoded chunks (inflated, predictor undone, still interleaved in the file's sample type) this
 * worker keeps for the reads that use part of a chunk: strips shorter than a block row, and the halo
 * rows of the next strip, come back for the rest. Per file (key `file`), least recently used first.
 */
const cache = new Map();

function cached(file, index) {
  const m = cache.get(file);
  const hit = m?.get(index);
  if (hit) {
    m.delete(index);
    m.set(index, hit);
  }
  return hit;
}

function remember(file, index, bytes, cap) {
  let m = cache.get(file);
  if (!m) cache.set(file, (m = new Map()));
  m.set(index, bytes);
  while (m.size > cap) m.delete(m.keys().next().value);
}

/**
 * Any 8- or 16-bit integer chunk with horizontal differencing (Sentinel-2 4-band COGs, the learned
 * detector's 6-band tiles, int16, single bands): the predictor is undone inside the scatter, in one
 * pass over the chunk, instead of a pass of its own first. All such chunks are cached
 * un-differenced, so a chunk read in parts decodes the same whichever samples each part wants.
 */
function fusedInt(job) {
  return job.predictor === 2 && (job.sampleFormat === 1 || job.sampleFormat === 2) && (job.bps === 1 || job.bps === 2) && job.samples.length <= MAX_FUSED_SAMPLES;
}

/** More wanted samples than this get the per-sample loop (one generated variable per sample). */
const MAX_FUSED_SAMPLES = 16;

/** Fused scatters by layout ("spp/bits/shift/samples"): generated once per worker (fusedScatter). */
const fusedScatters = new Map();

/**
 * The fused scatter for one layout: `spp` interleaved samples of `bits` (8|16), those listed in
 * `samples` wanted (in output order), two's complement when `shift` (32 - bits) is not 0. Generated
 * with one running sum per wanted sample, unrolled, as a hand-written loop for that layout would be:
 * a loop over a samples array (any spp) measured 3× slower per sample than the 4-band unrolled one.
 * The returned function `(v, chunkWidth, x0, y0, w, h, ndv, planes, o0, stride) → nan` walks rows
 * y0…y0+h of the unsigned view `v`, keeps each sample's running sum (mod 2^bits) from the chunk's
 * left edge (so any rect decodes the same values), writes x0…x0+w to the planes from `o0`, rows
 * `stride` apart, nodata (`ndv`; NaN for none, which equals nothing) as NaN, and returns how many.
 */
function fusedScatter(spp, bits, shift, samples) {
  const key = `${spp}/${bits}/${shift}/${samples.join(',')}`;
  let fn = fusedScatters.get(key);
  if (fn) return fn;
  const mask = bits === 8 ? 0xff : 0xffff;
  const ks = samples.map((_, k) => k);
  const each = (f) => ks.map(f).join('\n');
  const value = (k) => (shift ? `(a${k} << ${shift}) >> ${shift}` : `a${k}`);
  const body = `
    let nan = 0;
    ${each((k) => `const p${k} = planes[${k}];`)}
    for (let y = 0; y < h; y++) {
      let i = (y0 + y) * chunkWidth * ${spp};
      ${each((k) => `let a${k} = 0;`)}
      for (let x = 0; x < x0; x++, i += ${spp}) {
        ${each((k) => `a${k} = (a${k} + v[i + ${samples[k]}]) & ${mask};`)}
      }
      let o = o0 + y * stride;
      for (let x = 0; x < w; x++, i += ${spp}, o++) {
        ${each((k) => `a${k} = (a${k} + v[i + ${samples[k]}]) & ${mask};`)}
        ${each((k) => `const b${k} = ${value(k)};`)}
        ${each((k) => `p${k}[o] = b${k};`)}
        if (${ks.map((k) => `b${k} === ndv`).join(' || ')}) {
          ${each((k) => `if (b${k} === ndv) { p${k}[o] = NaN; nan++; }`)}
        }
      }
    }
    return nan;`;
  fn = new Function('v', 'chunkWidth', 'x0', 'y0', 'w', 'h', 'ndv', 'planes', 'o0', 'stride', body);
  fusedScatters.set(key, fn);
  return fn;
}

/** The compiled SIMD scatter (assembly/unpredict.ts), loaded on first use; null: not yet. */
let unpredictModule = null;

/** unpredict.wasm beside this file in the build, or in dist/ when this runs from source (vitest). */
function loadUnpredict() {
  if (unpredictModule) return unpredictModule;
  const candidates = [new URL('./unpredict.wasm', import.meta.url), new URL('../../dist/geo/tiff/unpredict.wasm', import.meta.url)];
  for (const u of candidates) {
    let bytes;
    try {
      bytes = readFileSync(u);
    } catch {
      continue;
    }
    unpredictModule = new WebAssembly.Module(bytes);
    return unpredictModule;
  }
  throw new Error(`unpredict.wasm not found (looked in ${candidates.map((u) => u.pathname).join(', ')}): run npm run build`);
}

/**
 * This worker's instance over a memory of its own, made at the size a job needs and never grown
 * (growing detaches the old buffer, and one detached buffer makes V8 check every typed-array access
 * of the thread from then on); a job that needs more gets a new, larger one.
 */
let unpredict = null;

function unpredictInstance(bytes) {
  if (unpredict && unpredict.memory.buffer.byteLength >= bytes) return unpredict;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(Math.max(bytes, 16 << 20) / 65536) });
  unpredict = { memory, exports: new WebAssembly.Instance(loadUnpredict(), { env: { memory } }).exports };
  return unpredict;
}

/**
 * Whether the SIMD scatter takes the job: 16-bit unsigned, differenced, 4 to 8 interleaved samples,
 * all wanted in file order (Sentinel-2 4-band COGs, the learned detector's 6-band tiles).
 */
function simdLayout(job) {
  const { spp, samples } = job;
  if (!(fusedInt(job) && job.bps === 2 && job.sampleFormat === 1 && spp >= 4 && spp <= 8 && samples.length === spp)) return false;
  for (let k = 0; k < spp; k++) if (samples[k] !== k) return false;
  return true;
}

/**
 * simdLayout's decode: the rect's rows copied into the module's memory, undone and de-interleaved
 * there (scatter4 / scatterWide), then copied row by row to the planes. Same values as fusedScatter.
 */
function scatterSimd(bytes, spp, chunkWidth, x0, y0, w, h, nd, planes, o0, stride) {
  const rowBytes = chunkWidth * spp * 2;
  const srcBytes = h * rowBytes + 16; // padding: a pixel's samples are loaded 16 bytes at a time
  const outAt = (srcBytes + 15) & ~15;
  const plane = w * h;
  const k = unpredictInstance(outAt + spp * plane * 4);
  new Uint8Array(k.memory.buffer, 0, h * rowBytes).set(bytes.subarray(y0 * rowBytes, (y0 + h) * rowBytes));
  // A nodata value no u16 can equal matches nothing: -1.
  const ndi = nd !== null && Number.isInteger(nd) && nd >= 0 && nd <= 0xffff ? nd : -1;
  const nan = spp === 4 ? k.exports.scatter4(0, chunkWidth, x0, w, h, ndi, outAt) : k.exports.scatterWide(0, spp, chunkWidth, x0, w, h, ndi, outAt);
  const out = new Float32Array(k.memory.buffer, outAt, spp * plane);
  for (let s = 0; s < spp; s++) {
    const p = planes[s];
    const from = s * plane;
    if (stride === w) p.set(out.subarray(from, from + plane), o0);
    else for (let y = 0; y < h; y++) p.set(out.subarray(from + y * w, from + (y + 1) * w), o0 + y * stride);
  }
  return nan;
}

/** Inflate and undo the predictor (unless fusedInt: then the scatter does): the chunk's samples, little-endian, interleaved. */
function rawChunk(job) {
  const { compression, predictor, bps, sampleFormat, spp, chunkWidth, chunkRows } = job;
  const need = chunkWidth * chunkRows * spp * bps;
  let bytes = job.bytes;
  // chunkSize = the decoded size + 1: one output buffer, not a list of 16 KiB pieces concatenated
  // after. The spare byte matters: a stream that fills its buffer exactly makes zlib's sync loop
  // allocate a second buffer of chunkSize just to learn the stream has ended, so every chunk cost
  // twice its decoded size in fresh external memory (12 MiB a tile of bench:scale's 256² tiles,
  // a third of what schedules a worker's GCs).
  if (compression === 8 || compression === 32946) bytes = inflateSync(bytes, { chunkSize: Math.max(64, need + 1) });
  if (bytes.byteLength < need) {
    // A short chunk is a truncated or corrupt file: never hand back garbage pixels.
    throw new Error(`chunk holds ${bytes.byteLength} bytes, expected ${need}`);
  }
  if (predictor === 3) bytes = undoPredictor3(bytes, chunkWidth, chunkRows, spp, bps);
  if (predictor === 2 && !fusedInt(job)) {
    // Differencing wraps modulo 2^bits, so the unsigned view is right for signed data too, and for
    // floats, whose bit patterns libtiff differences as words (GDAL writes PREDICTOR=2 on Float32).
    if (bytes.byteOffset % bps !== 0) bytes = new Uint8Array(bytes); // the view must be of the bytes returned
    const words = bps === 8 ? new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3) : typedView(bytes, bps, 1);
    undoPredictor2(words, chunkWidth * spp, chunkRows, spp);
  }
  return bytes;
}

/**
 * Copy sample `s` of the rect [x0, y0, w, h] of the decoded chunk `v` into `out` from `o0`, rows
 * `stride` apart; nodata → NaN. Returns how many pixels were nodata (or NaN already).
 */
function scatter(v, spp, chunkWidth, x0, y0, w, h, s, nd, out, o0, stride) {
  let nan = 0;
  for (let y = 0; y < h; y++) {
    let i = ((y0 + y) * chunkWidth + x0) * spp + s;
    let o = o0 + y * stride;
    if (nd === null) {
      for (let x = 0; x < w; x++, i += spp) {
        const val = v[i];
        out[o++] = val;
        if (val !== val) nan++;
      }
    } else {
      for (let x = 0; x < w; x++, i += spp) {
        const val = v[i];
        if (val === nd || val !== val) {
          out[o++] = NaN;
          nan++;
        } else out[o++] = val;
      }
    }
  }
  return nan;
}

/**
 * Decode one chunk. `job`: { bytes: Uint8Array | null (null: the chunk is in this worker's cache),
 * compression (1 | 8 | 32946), predictor (1|2|3), bps (bytes per sample), sampleFormat (1 uint,
 * 2 int, 3 float), spp (samples interleaved in the chunk), chunkWidth, chunkRows (rows of data the
 * chunk holds), rect: [x0, y0, w, h] inside the chunk, samples: indices (within the chunk) to emit,
 * nodata: number|null, cache?: { file, index, cap } (keep the decoded chunk for the next reads of it),
 * dest?: { planes: Float32Array[] (one per sample, usually on SharedArrayBuffers), offset, stride }
 * (write the rect there, rows `stride` apart from pixel `offset`) }.
 * Returns { planes } (one Float32Array of w*h per sample) without `dest`, { nan } with it: the
 * count of nodata/NaN pixels written. Throws on corrupt data, and 'cache miss' when `bytes` is null
 * and the chunk is not cached.
 */
export function decodeChunk(job) {
  const { bps, sampleFormat, spp, chunkWidth, rect, samples, nodata, dest } = job;
  let bytes;
  if (job.bytes === null) {
    bytes = job.cache ? cached(job.cache.file, job.cache.index) : undefined;
    if (!bytes) throw new Error(CACHE_MISS);
  } else {
    bytes = rawChunk(job);
    if (job.cache) remember(job.cache.file, job.cache.index, bytes, job.cache.cap);
  }
  const v = typedView(bytes, bps, sampleFormat);
  const [x0, y0, w, h] = rect;
  const nd = nodata === null ? null : sampleFormat === 3 && bps === 4 ? Math.fround(nodata) : nodata;
  if (simdLayout(job)) {
    const planes = dest ? dest.planes : samples.map(() => new Float32Array(w * h));
    const nan = scatterSimd(bytes, spp, chunkWidth, x0, y0, w, h, nd, planes, dest ? dest.offset : 0, dest ? dest.stride : w);
    return dest ? { nan } : { planes };
  }
  if (fusedInt(job)) {
    const planes = dest ? dest.planes : samples.map(() => new Float32Array(w * h));
    const bits = bps * 8;
    const scatterRows = fusedScatter(spp, bits, sampleFormat === 2 ? 32 - bits : 0, samples);
    const nan = scatterRows(typedView(bytes, bps, 1), chunkWidth, x0, y0, w, h, nd === null ? NaN : nd, planes, dest ? dest.offset : 0, dest ? dest.stride : w);
    return dest ? { nan } : { planes };
  }
  if (dest) {
    let nan = 0;
    samples.forEach((s, k) => {
      nan += scatter(v, spp, chunkWidth, x0, y0, w, h, s, nd, dest.planes[k], dest.offset, dest.stride);
    });
    return { nan };
  }
  const planes = samples.map((s) => {
    const out = new Float32Array(w * h);
    scatter(v, spp, chunkWidth, x0, y0, w, h, s, nd, out, 0, w);
    return out;
  });
  return { planes };
}

export const CACHE_MISS = 'cache miss';

/** Drops the chunks kept for `file` (it was closed): the message `{ forget }` in a worker, a call on a pool of none. */
export function forgetFile(file) {
  cache.delete(file);
}

// Only in a thread the pool started: imported elsewhere (a pool of no workers decoding on the calling
// thread, a test runner's worker) this module must not answer that thread's own messages.
if (parentPort && workerData?.inflateWorker) {
  // Named as pipeline/thread-name.ts names the other threads (this file is plain JS below pipeline/).
  try {
    if (process.platform === 'linux') writeFileSync('/proc/thread-self/comm', 'tuban-inflate');
  } catch {
    // The thread stays `node`.
  }
  const port = parentPort;
  port.on('message', (msg) => {
    if (msg.forget !== undefined) {
      forgetFile(msg.forget);
      return;
    }
    try {
      const r = decodeChunk(msg.job);
      port.postMessage({ id: msg.id, ...r }, r.planes ? r.planes.map((p) => p.buffer) : []);
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
