/**
 * assertRedisAnswers bounds the whole check, not just the TCP connect: a port that accepts and never
 * answers (a firewall, another service, a Redis loading its file) hung `tuban status` for good.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisAnswers } from './redis-answers.js';

describe('assertRedisAnswers', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts every connection, reads what it is sent, answers nothing.
    server = createServer((s) => void sockets.push(s.on('data', () => undefined)));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((done) => server.close(done));
  });

  it('gives up within its time on a port that accepts and never answers, naming the Redis without its password', async () => {
    const t0 = Date.now();
    const err = await assertRedisAnswers(`redis://:s3cret@127.0.0.1:${port}`, 1500).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err?.code).toBe('QUEUE.TRANSIENT');
    expect(err?.message).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(err?.message).not.toContain('s3cret');
  }, 15_000);
});
