import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { settledWithin } from './settled-within.js';

describe('settledWithin', () => {
  it('says late when nothing came within the time', async () => {
    expect(await settledWithin(new Promise(() => undefined), 20)).toBe('late');
  });

  // A worker's handler can hold the main thread past a deadline; the answer that arrived on a socket
  // meanwhile (Redis' PONG) is read before the deadline is called: timers run before the poll for I/O.
  it('takes an answer that arrived on a socket while the main thread was busy past the deadline', async () => {
    // The answering side in another process, as Redis is: it answers while this thread is busy.
    const server = spawn(process.execPath, ['-e', "const s = require('net').createServer((c) => c.on('data', () => c.write('pong'))).listen(0, '127.0.0.1', () => console.log(s.address().port))"]);
    const port = Number(await new Promise<string>((r) => server.stdout.once('data', (d) => r(String(d)))));
    const client = connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      const answer = new Promise<string>((r) => client.once('data', (d) => r(String(d))));
      const asked = settledWithin(answer, 50);
      client.write('ping');
      const until = Date.now() + 300; // the main thread busy well past the 50 ms, the answer long arrived
      while (Date.now() < until) {
        // busy
      }
      expect(await asked).toBe('pong');
    } finally {
      client.destroy();
      server.kill();
    }
  });
});
