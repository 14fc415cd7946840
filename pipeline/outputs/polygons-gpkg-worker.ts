/**
 * The thread side of `polygonsGpkgBytesOnThread`: encode the polygons it was started with, send the
 * bytes back (transferred, not copied), and end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { polygonsGpkgBytes, type BureauNames, type GpkgReply } from './polygons-gpkg.js';

const { polygons, bureaus } = workerData as { polygons: MonitoringPolygon[]; bureaus: BureauNames };
const port = parentPort!;

polygonsGpkgBytes(polygons, bureaus).then(
  (bytes) => port.postMessage({ bytes } satisfies GpkgReply, [bytes.buffer as ArrayBuffer]),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ error: { message: e.message, stack: e.stack } } satisfies GpkgReply);
  },
);
