/**
 * Worker thread of the RenderPool (render-pool.ts): one TileRenderer (tile-renderer.ts), the same
 * code the service runs in-thread, so its tiles are byte for byte those. Each encoded image goes
 * back as a transferred buffer; an error goes back by name, code and message, and the pool
 * rebuilds it as the same class (the route answers it as it would in-thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TubanError } from '../../schemas/errors.js';
import { ImageryError } from './imagery-error.js';
import { createTileRenderer, type ChipJob, type TileJob, type TileRendererOptions } from './tile-renderer.js';
import type { TileInfo } from '../../geo/tile-reader.js';
import type { RgbStretch } from './stretch.js';
import { nameThisThread } from '../../pipeline/thread-name.js';

nameThisThread('tuban-imagery');

export type RenderTask =
  | { id: number; op: 'tile'; job: TileJob }
  | { id: number; op: 'chip'; job: ChipJob }
  | { id: number; op: 'stretch'; infos: readonly TileInfo[] }
  | { id: number; op: 'warm'; info: TileInfo }
  | { id: number; op: 'overviews' };

export interface SerialisedError {
  name: string;
  message: string;
  code?: string;
  subject?: string;
  /** The worker's stack, for the server's log of a 500. */
  stack?: string;
}

export interface RenderReply {
  id: number;
  bytes?: Uint8Array | null;
  firstPainted?: number;
  /** Ids of the tiles whose overviews it holds. */
  overviews?: string[];
  stretch?: RgbStretch | null;
  error?: SerialisedError;
}

const renderer = createTileRenderer(workerData as TileRendererOptions);

/** A copy on an ArrayBuffer of its own (sharp's output buffers are not transferable): an encoded tile, ~100 kB. */
function owned(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

function serialise(e: unknown): SerialisedError {
  if (e instanceof ImageryError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof TubanError) return { name: e.name, message: e.message, code: e.code, subject: e.subject };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack, ...('code' in e && typeof e.code === 'string' ? { code: e.code } : {}) };
  return { name: 'Error', message: String(e) };
}

async function answer(task: RenderTask): Promise<{ reply: RenderReply; transfer: ArrayBuffer[] }> {
  switch (task.op) {
    case 'tile': {
      const b = await renderer.tile(task.job);
      const bytes = b && owned(b);
      return { reply: { id: task.id, bytes }, transfer: bytes ? [bytes.buffer as ArrayBuffer] : [] };
    }
    case 'chip': {
      const c = await renderer.chip(task.job);
      const bytes = owned(c.png);
      return { reply: { id: task.id, bytes, firstPainted: c.firstPainted }, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'stretch':
      return { reply: { id: task.id, stretch: await renderer.stretch(task.infos) }, transfer: [] };
    case 'warm':
      await renderer.warm(task.info);
      return { reply: { id: task.id }, transfer: [] };
    case 'overviews':
      return { reply: { id: task.id, overviews: renderer.overviews() }, transfer: [] };
  }
}

parentPort!.on('message', (task: RenderTask | { op: 'close' }) => {
  if (task.op === 'close') {
    void renderer.close().finally(() => parentPort!.close());
    return;
  }
  answer(task).then(
    ({ reply, transfer }) => parentPort!.postMessage(reply, transfer),
    (e: unknown) => parentPort!.postMessage({ id: task.id, error: serialise(e) } satisfies RenderReply),
  );
});
