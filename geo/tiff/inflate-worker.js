// Plain JS on purpose: this file is loaded with `new Worker(new URL('./inflate-worker.js', import.meta.url))`
// both from source (vitest) and from dist, and Node cannot start a worker from a .ts file.
// It turns one compressed TIFF chunk (tile or strip) into Float32 sample planes of a sub-rectangle.
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
 * most significant byte first, then byte-differenced. Returns a new little-endian buffer.
 */
function undoPredictor3(bytes, width, rows, spp, bps) {
  const out = new Uint8Array(bytes.length);
  const n = width * spp;
  const rowBytes = n * bps;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let i = base + 1; i < base + rowBytes; i++) bytes[i] = (bytes[i] + bytes[i - 1]) & 0xff;
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
 * Four interleaved uint16 samples, all wanted in order, horizontally differenced (the usual
 * Sentinel-2 4-band COG): the predictor is undone inside the scatter, in one pass over the chunk
 * (fused4), instead of a pass of its own first.
 */
function fused4(job) {
  const s = job.samples;
  return job.predictor === 2 && job.bps === 2 && job.sampleFormat === 1 && job.spp === 4 && s.length === 4 && s[0] === 0 && s[1] === 1 && s[2] === 2 && s[3] === 3;
}

/** fused4's pass: running sums (mod 2^16) from the chunk's left edge, so any rect decodes the same values. */
function scatterFused4(v, chunkWidth, x0, y0, w, h, nd, p0, p1, p2, p3, o0, stride) {
  let nan = 0;
  const ndv = nd === null ? -1 : nd;
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * chunkWidth * 4;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let x = 0; x < x0; x++, i += 4) {
      a0 = (a0 + v[i]) & 0xffff; a1 = (a1 + v[i + 1]) & 0xffff; a2 = (a2 + v[i + 2]) & 0xffff; a3 = (a3 + v[i + 3]) & 0xffff;
    }
    let o = o0 + y * stride;
    for (let x = 0; x < w; x++, i += 4, o++) {
      a0 = (a0 + v[i]) & 0xffff; a1 = (a1 + v[i + 1]) & 0xffff; a2 = (a2 + v[i + 2]) & 0xffff; a3 = (a3 + v[i + 3]) & 0xffff;
      p0[o] = a0; p1[o] = a1; p2[o] = a2; p3[o] = a3;
      if (a0 === ndv || a1 === ndv || a2 === ndv || a3 === ndv) {
        if (a0 === ndv) { p0[o] = NaN; nan++; }
        if (a1 === ndv) { p1[o] = NaN; nan++; }
        if (a2 === ndv) { p2[o] = NaN; nan++; }
        if (a3 === ndv) { p3[o] = NaN; nan++; }
      }
    }
  }
  return nan;
}

/** Inflate and undo the predictor (unless fused4): the chunk's samples, little-endian, interleaved. */
function rawChunk(job) {
  const { compression, predictor, bps, sampleFormat, spp, chunkWidth, chunkRows } = job;
  const need = chunkWidth * chunkRows * spp * bps;
  let bytes = job.bytes;
  // chunkSize = the decoded size: one output buffer, not a list of 16 KiB pieces concatenated after.
  if (compression === 8 || compression === 32946) bytes = inflateSync(bytes, { chunkSize: Math.max(64, need) });
  if (bytes.byteLength < need) {
    // A short chunk is a truncated or corrupt file: never hand back garbage pixels.
    throw new Error(`chunk holds ${bytes.byteLength} bytes, expected ${need}`);
  }
  if (predictor === 3) bytes = undoPredictor3(bytes, chunkWidth, chunkRows, spp, bps);
  if (predictor === 2 && sampleFormat !== 3 && !fused4(job)) {
    // Differencing wraps modulo 2^bits, so the unsigned view is right for signed data too.
    undoPredictor2(typedView(bytes, bps, 1), chunkWidth * spp, chunkRows, spp);
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
  if (fused4(job)) {
    const [p0, p1, p2, p3] = dest ? dest.planes : samples.map(() => new Float32Array(w * h));
    const nan = scatterFused4(v, chunkWidth, x0, y0, w, h, nd, p0, p1, p2, p3, dest ? dest.offset : 0, dest ? dest.stride : w);
    return dest ? { nan } : { planes: [p0, p1, p2, p3] };
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
