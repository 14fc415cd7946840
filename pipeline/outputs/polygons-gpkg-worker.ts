/**
 * The thread side of `startPolygonsGpkgThread`: load sql.js, wait for the polygons, encode them, send
 * the bytes back (transferred, not copied); the owner then ends the thread.
 */
import { parentPort } from 'node:worker_threads';
import { sqlJs } from '../../geo/vector/sqlite.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { polygonsGpkgBytes, type BureauNames } from './polygons-gpkg.js';
import type { GpkgReply } from './polygons-gpkg-thread.js';
import { nameThisThread } from '../thread-name.js';

nameThisThread('tuban-gpkg');

const port = parentPort!;

// One request: the polygons to encode (the thread is started before they are read).
port.once('message', ({ polygons, bureaus }: { polygons: MonitoringPolygon[]; bureaus: BureauNames }) => {
  polygonsGpkgBytes(polygons, bureaus).then(
    (bytes) => port.postMessage({ bytes } satisfies GpkgReply, [bytes.buffer as ArrayBuffer]),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ error: { message: e.message, stack: e.stack } } satisfies GpkgReply);
    },
  );
});
// Compiled now, while the caller reads the polygons, not after it asks.
void sqlJs();
