/**
 * A large fresh buffer made resident on a thread of its own, while the caller does something else.
 *
 * Fresh memory costs nothing until it is first written; then the kernel supplies and zeroes each
 * 4 KiB page, one fault at a time. Inside a full tile's batch that runs at ~9 µs a page: the 480 MB
 * component labels of a 10980² tile took ~1 s to clear on the main thread, in the serial stretch
 * after scoring where the other core is idle. Written once a page by a short-lived worker there,
 * the same pages are ready by the time the labels are drawn (≈ 0.85 s of that worker's time,
 * overlapped with the cloud and mask stages). The pages only ever hold zeros, so the buffer's
 * contents are what they were; a worker that fails to start leaves them untouched and as usable.
 */
import { Worker } from 'node:worker_threads';

/** Smaller buffers fault in where they are first written: a thread costs more than their pages. */
export const PREFAULT_MIN_BYTES = 64 * 2 ** 20;

/** Plain JavaScript run as the worker (`eval`), so it needs no module of its own in the build. */
const TOUCH_EVERY_PAGE = `
const { parentPort, workerData } = require('node:worker_threads');
const bytes = new Uint8Array(workerData);
for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 0;
if (bytes.length > 0) bytes[bytes.length - 1] = 0;
parentPort.postMessage('done');
`;

/**
 * Resolves once every page of `buffer` has been written (with zeros: it must still hold only
 * zeros, i.e. be fresh) by a worker thread, or at once for a buffer under PREFAULT_MIN_BYTES.
 * Never rejects: prefaulting is an optimisation, and the buffer is usable whatever happens to it.
 * The caller must not write the buffer before this resolves (the worker's zeros would race it).
 */
export function prefaultPages(buffer: SharedArrayBuffer, minBytes = PREFAULT_MIN_BYTES): Promise<void> {
  if (buffer.byteLength < minBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(TOUCH_EVERY_PAGE, { eval: true, workerData: buffer });
    } catch {
      resolve();
      return;
    }
    worker.once('message', () => {
      resolve();
      void worker.terminate();
    });
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
}
