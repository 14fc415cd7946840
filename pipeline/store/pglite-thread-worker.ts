/**
 * The database thread's side of `pglite-thread.ts`: starts PGlite (template copy included) and
 * answers the owning thread's queries and transactions. One message in, one reply out, by id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { startEmbedded } from './open-database.js';
import type { ThreadInit, ThreadReply, ThreadRequest, WireError } from './pglite-thread.js';

const port = parentPort!;
const init = workerData as ThreadInit;

/** Open transactions: their handle, and how to end them (true: commit). */
const open = new Map<number, { tx: Transaction; end: (commit: boolean) => void; ended: Promise<void> }>();
let nextTx = 1;

/** Thrown inside PGlite's transaction callback to make it roll back. */
const ROLLBACK = Symbol('rollback');

function wire(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & Record<string, unknown>;
    const out: WireError = { name: e.name, message: e.message, stack: e.stack };
    // PostgreSQL's fields (code, detail, hint, position, …) say what failed; keep every plain one.
    for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
    return out;
  }
  return { name: 'Error', message: String(err) };
}

const reply = (r: ThreadReply) => port.postMessage(r);

async function main(): Promise<void> {
  let lite: PGlite;
  try {
    lite = await startEmbedded(init.target, { templateCache: init.templateCache, schema: init.schema }, (level, message) => reply({ id: 0, log: { level, message } }));
  } catch (err) {
    reply({ id: 0, error: wire(err) });
    return;
  }
  reply({ id: 0, ok: true });
  port.on('message', (m: ThreadRequest) => {
    void handle(lite, m).then(
      (value) => reply({ id: m.id, ok: true, value }),
      (err: unknown) => reply({ id: m.id, error: wire(err) }),
    );
  });
}

async function handle(lite: PGlite, m: ThreadRequest): Promise<unknown> {
  switch (m.op) {
    case 'query': {
      const on = m.tx === undefined ? lite : open.get(m.tx)?.tx;
      if (!on) throw new Error(`transaction ${m.tx} is not open`);
      const r = await on.query(m.text, m.params);
      return r.rows;
    }
    case 'begin': {
      const id = nextTx++;
      // Resolves once PGlite has begun the transaction and handed us its handle.
      return new Promise<number>((begun, failed) => {
        const ended = lite
          .transaction(async (tx) => {
            const commit = await new Promise<boolean>((end) => {
              open.set(id, { tx, end, ended });
              begun(id);
            });
            if (!commit) throw ROLLBACK;
          })
          .then(
            () => undefined,
            (err: unknown) => {
              if (err !== ROLLBACK) throw err;
            },
          )
          .finally(() => open.delete(id));
        ended.catch((err: unknown) => failed(err));
      });
    }
    case 'end': {
      const t = open.get(m.tx);
      if (!t) throw new Error(`transaction ${m.tx} is not open`);
      t.end(m.commit);
      await t.ended;
      return undefined;
    }
    case 'close':
      await lite.close();
      return undefined;
  }
}

void main();
