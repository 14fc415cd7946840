/**
 * A TCP relay in front of a real server (PostgreSQL in the tests), so a test can take the server
 * away and bring it back without owning its process: `down()` closes the port and cuts every
 * connection through it, as a stopped server (`pg_ctl stop`, a package upgrade's restart) does, and
 * new connections are refused (ECONNREFUSED) until `up()` opens the same port again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  up(): Promise<void>;
  down(): Promise<void>;
  /** `target` with the relay's host and port (valid once `up()` has resolved). */
  url(): string;
}

export function tcpRelay(target: URL): TcpRelay {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  return {
    up: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(Number(target.port), target.hostname);
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.on('error', () => s.destroy());
          }
          client.pipe(upstream).pipe(client);
        });
        server.once('error', reject);
        // The same port each time: a client reconnects where it connected before.
        server.listen(port, '127.0.0.1', () => {
          port = (server!.address() as { port: number }).port;
          resolve();
        });
      }),
    down: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }),
    url: () => {
      const u = new URL(target.href);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.href;
    },
  };
}
