/**
 * A TCP relay in front of a real server (PostgreSQL in the tests), so a test can take the server
 * away and bring it back without owning its process: `down()` closes the port and cuts every
 * connection through it, as a stopped server (`pg_ctl stop`, a package upgrade's restart) does, and
 * new connections are refused (ECONNREFUSED) until `up()` opens the same port again. `blackhole()`
 * is the other way a server goes: its machine powered off or the network between cut, so nothing
 * answers and nothing is refused either (connections stay open, silent; new ones are accepted and
 * never answered), which is what makes a client wait instead of fail.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  up(): Promise<void>;
  down(): Promise<void>;
  /** Nothing passes either way any more, and no connection ends, until `down()`. */
  blackhole(): void;
  /** `target` with the relay's host and port (valid once `up()` has resolved). */
  url(): string;
}

export function tcpRelay(target: URL): TcpRelay {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let silent = false;
  const keep = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  return {
    up: () =>
      new Promise<void>((resolve, reject) => {
        silent = false;
        server = createServer((client) => {
          keep(client);
          // Paused, a socket reads nothing: neither the bytes nor the end the peer sent.
          if (silent) return void client.pause();
          const upstream = connect(Number(target.port), target.hostname);
          keep(upstream);
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
    blackhole() {
      silent = true;
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    url: () => {
      const u = new URL(target.href);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.href;
    },
  };
}
