/**
 * The embedded database of a running `tuban serve`, shared with the other tuban commands on this
 * host. PGlite belongs to one process, so the server holds the directory's lock for its whole life;
 * without this, the month's `tuban batch` (or `user`, `ledger`, `report`, `migrate`) on the same
 * directory would have to stop the bureaus' server first. Instead the server answers database calls
 * (`database-calls.ts`) on a Unix socket beside the lock, `<dir>.sock`, and a command that finds it
 * sends its queries there: one database, one process writing it.
 *
 * The socket is 0600, in a directory only the owner of the database writes: who can connect could
 * open the database directory itself. A client's transaction holds the server's database until it
 * ends (the server's own requests wait, as they do for its own transactions), and is rolled back if
 * the client goes away. Messages are length-prefixed V8 serialisations (the structured clone that
 * the database thread uses too: typed arrays and dates survive).
 */
import { chmod, unlink } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import { answeringCalls, callingDatabase, pendingCalls, wire, type Answerable, type CallReply, type DatabaseCall } from './database-calls.js';
import type { Database } from './queryable.js';

/** The socket of an embedded database directory: beside it, like its lock. */
export function socketPathFor(dir: string): string {
  return `${dir.replace(/[\\/]+$/, '')}.sock`;
}

/** Calls messages of `socket` back with each whole message, in order. */
function onMessages(socket: Socket, each: (m: unknown) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (buf.length < 4 + n) break;
      each(deserialize(buf.subarray(4, 4 + n)));
      buf = buf.subarray(4 + n);
    }
  });
}

function send(socket: Socket, m: unknown): void {
  const body = serialize(m);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  socket.write(Buffer.concat([head, body]));
}

export interface SharedDatabase {
  readonly path: string;
  /** Stops answering and removes the socket; clients' open transactions are rolled back. */
  close(): Promise<void>;
}

/**
 * Answer `db`'s calls on `<dir>.sock`. The caller holds the directory's lock, so a socket file found
 * there is a dead holder's and is replaced. Rejects when the socket cannot be made (a path over the
 * system's ~107-byte limit, a read-only folder): the caller then goes on unshared.
 */
export async function shareDatabase(db: Answerable, dir: string): Promise<SharedDatabase> {
  const path = socketPathFor(dir);
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket);
    const calls = answeringCalls(db);
    onMessages(socket, (m) => {
      const { id, ...call } = m as DatabaseCall & { id: number };
      void calls.answer(call as DatabaseCall).then(
        (value) => !socket.destroyed && send(socket, { id, value } satisfies CallReply),
        (err: unknown) => !socket.destroyed && send(socket, { id, error: wire(err) } satisfies CallReply),
      );
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clients.delete(socket);
      calls.abandon();
    });
  });
  await unlink(path).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  server.unref();
  return {
    path,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const c of clients) c.destroy();
      await closed;
      await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * The database a running `tuban serve` shares on `<dir>.sock`, or null when nobody answers there
 * (no server, or a dead one's socket file: the caller then takes the lock as usual).
 */
export async function connectSharedDatabase(dir: string): Promise<Database | null> {
  const path = socketPathFor(dir);
  const socket = await new Promise<Socket | null>((resolve) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(null));
  });
  if (!socket) return null;
  const calls = pendingCalls<DatabaseCall>((m) => send(socket, m), (waiting) => (waiting ? socket.ref() : socket.unref()), `tuban serve's database, ${path}`);
  socket.unref(); // referenced only while a call waits, so an idle client never keeps a process alive
  onMessages(socket, (m) => calls.settle(m as CallReply));
  socket.on('error', (err) => calls.failAll(new Error(`the connection to tuban serve's database (${path}) failed: ${err.message}`, { cause: err })));
  socket.on('close', () => calls.failAll(new Error(`tuban serve stopped while this command used its database (${path})`)));
  const call = <T>(c: DatabaseCall): Promise<T> => calls.call<T>(c);
  const db = callingDatabase(call, async () => {
    calls.failAll(new Error('the database is closed'));
    await new Promise<void>((r) => socket.end(() => r()));
  });
  return { ...db, servedBy: path };
}
