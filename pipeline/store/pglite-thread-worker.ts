/**
 * The database thread's side of `pglite-thread.ts`: starts PGlite (template copy included) and
 * answers the owning thread's queries and transactions. One message in, one reply out, by id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import { answeringCalls, wire } from './database-calls.js';
import { startEmbedded } from './open-database.js';
import type { ThreadInit, ThreadReply, ThreadRequest } from './pglite-thread.js';
import { nameThisThread } from '../thread-name.js';

nameThisThread('tuban-db');

const port = parentPort!;
const init = workerData as ThreadInit;

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
  const calls = answeringCalls(lite);
  const handle = async (m: ThreadRequest): Promise<unknown> => {
    if (m.op !== 'close') return calls.answer(m);
    await lite.close();
    return undefined;
  };
  port.on('message', (m: ThreadRequest) => {
    void handle(m).then(
      (value) => reply({ id: m.id, ok: true, value }),
      (err: unknown) => reply({ id: m.id, error: wire(err) }),
    );
  });
}

void main();
