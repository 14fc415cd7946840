/** The thread side of `zone-file-thread.ts`: read each zone file asked for with `loadZones`, one at a time, in order. */
import { parentPort } from 'node:worker_threads';
import { loadZones } from './zones.js';
import type { ZoneFileReply, ZoneFileRequest } from './zone-file-thread.js';
import { nameThisThread } from './thread-name.js';

nameThisThread('tuban-zones');

const port = parentPort!;
let queue: Promise<void> = Promise.resolve();

port.on('message', (m: ZoneFileRequest) => {
  queue = queue.then(async () => {
    try {
      port.postMessage({ id: m.id, result: await loadZones([m.path], m.crs === undefined ? {} : { zonesCrs: m.crs }) } satisfies ZoneFileReply);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ id: m.id, error: { message: e.message, stack: e.stack } } satisfies ZoneFileReply);
    }
  });
});
