// Plain JS on purpose: this file is loaded with `new Worker(new URL('./inflate-worker.js', import.meta.url))`
// both from source (vitest) and from dist, and Node cannot start a worker from a .ts file.
// It turns one compressed TIFF chunk (tile or strip) into Float32 sample planes of a sub-rectangle.
import { parentPort } from 'node:worker_threads';
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
 * Decode one chunk. `job`: { bytes: Uint8Array, compression (1 | 8 | 32946), predictor (1|2|3),
 * bps (bytes per sample), sampleFormat (1 uint, 2 int, 3 float), spp (samples interleaved in the chunk),
 * chunkWidth, chunkRows (rows of data the chunk holds), rect: [x0, y0, w, h] inside the chunk,
 * samples: indices (within the chunk) to emit, nodata: number|null }.
 * Returns one Float32Array of w*h per requested sample; nodata → NaN. Throws on corrupt data.
 */
export function decodeChunk(job) {
  const { compression, predictor, bps, sampleFormat, spp, chunkWidth, chunkRows, rect, samples, nodata } = job;
  let bytes = job.bytes;
  if (compression === 8 || compression === 32946) bytes = inflateSync(bytes);
  const need = chunkWidth * chunkRows * spp * bps;
  if (bytes.byteLength < need) {
    // A short chunk is a truncated or corrupt file: never hand back garbage pixels.
    throw new Error(`chunk holds ${bytes.byteLength} bytes, expected ${need}`);
  }
  if (predictor === 3) bytes = undoPredictor3(bytes, chunkWidth, chunkRows, spp, bps);
  if (predictor === 2 && sampleFormat !== 3) {
    // Differencing wraps modulo 2^bits, so the unsigned view is right for signed data too.
    undoPredictor2(typedView(bytes, bps, 1), chunkWidth * spp, chunkRows, spp);
  }
  const v = typedView(bytes, bps, sampleFormat);
  const [x0, y0, w, h] = rect;
  const nd = nodata === null ? null : sampleFormat === 3 && bps === 4 ? Math.fround(nodata) : nodata;
  const planes = [];
  for (const s of samples) {
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      let i = ((y0 + y) * chunkWidth + x0) * spp + s;
      let o = y * w;
      if (nd === null) {
        for (let x = 0; x < w; x++, i += spp) out[o++] = v[i];
      } else {
        for (let x = 0; x < w; x++, i += spp) {
          const val = v[i];
          out[o++] = val === nd ? NaN : val;
        }
      }
    }
    planes.push(out);
  }
  return planes;
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (msg) => {
    try {
      const planes = decodeChunk(msg.job);
      port.postMessage({ id: msg.id, planes }, planes.map((p) => p.buffer));
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
