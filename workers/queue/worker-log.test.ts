/**
 * What a worker's log says about where it works and about Redis going away: the operator reads these
 * lines, not BullMQ's events. Redis is taken away by a TCP relay in front of it (connections cut,
 * new ones refused), as a stopped Redis does. Needs the servers:
 * `node scripts/test-servers.mjs -- npx vitest run workers/queue/worker-log.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { tcpRelay } from '../../pipeline/testing/tcp-relay.js';
import type { JobHandlers } from '../../schemas/jobs.js';
import { servers, uniqueName } from '../testing/test-servers.js';
import { startWorker } from './start-worker.js';

interface Line {
  level: number;
  time: number;
  msg: string;
  [k: string]: unknown;
}

function capturedLog() {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { log, lines };
}

const handlers: JobHandlers = {
  async 'tile.detect'() {},
  async 'batch.finalise'() {
    return {};
  },
};

const WARN = 40;
const INFO = 30;

describe.runIf(servers)('a worker says where it works and when Redis goes and comes back', () => {
  const relay = tcpRelay(new URL(servers?.redisUrl ?? 'redis://127.0.0.1:1'));
  beforeAll(() => relay.up());
  afterAll(() => relay.down());

  it('names the queue, its Redis (password hidden) and the database it was given when it starts', async () => {
    const { log, lines } = capturedLog();
    const queueName = uniqueName('q');
    const url = new URL(servers!.redisUrl);
    const withPassword = `redis://:sekrit@${url.host}`;
    const w = startWorker({ connection: withPassword, handlers, queueName, queuePrefix: 'pfx', log, handleSignals: false, describeDatabase: 'postgres://tuban:***@db:5432/tuban', closeTimeoutMs: 1000 });
    await w.close();
    const started = lines.find((l) => l.msg === 'worker started');
    expect(JSON.stringify(started)).not.toContain('sekrit');
    expect(started).toMatchObject({ queue: queueName, prefix: 'pfx', redis: `redis://:***@${url.host}`, database: 'postgres://tuban:***@db:5432/tuban' });
  });

  it('one warning when the connection is lost, reminders at most every remindMs while down, one info line when back', async () => {
    const { log, lines } = capturedLog();
    const w = startWorker({ connection: relay.url(), handlers, queueName: uniqueName('q'), queuePrefix: uniqueName('p'), log, handleSignals: false, redisReminderMs: 1500 });
    try {
      await w.worker.waitUntilReady();
      await new Promise((r) => setTimeout(r, 300));
      const before = lines.length;
      await relay.down();
      await new Promise((r) => setTimeout(r, 4000));
      await relay.up();
      const deadline = Date.now() + 10_000;
      while (!lines.slice(before).some((l) => l.level === INFO && /back/.test(l.msg)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const outage = lines.slice(before);
      const warns = outage.filter((l) => l.level >= WARN);
      // Before: a 'worker error' warning each reconnect attempt (~1 a second) and nothing on return.
      expect(warns.length, JSON.stringify(outage.map((l) => l.msg))).toBeGreaterThanOrEqual(2);
      expect(warns.length, JSON.stringify(outage.map((l) => l.msg))).toBeLessThanOrEqual(4); // lost + at most 2 reminders in 4 s (+1 for timing slack)
      expect(warns[0].msg).toMatch(/^lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+/);
      for (let i = 1; i < warns.length; i++) {
        expect(warns[i].msg).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ still does not answer after \d+ s/);
        expect(warns[i].time - warns[i - 1].time).toBeGreaterThanOrEqual(1500 - 50);
      }
      const back = outage.filter((l) => l.level === INFO && /back/.test(l.msg));
      expect(back).toHaveLength(1);
      expect(back[0].msg).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ is back after \d+ s/);
      expect(back[0].time).toBeGreaterThan(warns.at(-1)!.time);
    } finally {
      await w.close();
    }
  }, 30_000);

  it('a Redis that answers but refuses (a database index it has not) is a worker error, not a lost connection and a "back"', async () => {
    const { log, lines } = capturedLog();
    const w = startWorker({ connection: `${servers!.redisUrl.replace(/\/\d*$/, '')}/99`, handlers, queueName: uniqueName('q'), queuePrefix: uniqueName('p'), log, handleSignals: false, closeTimeoutMs: 1000 });
    try {
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      await w.close();
    }
    expect(lines.filter((l) => /lost the connection|is back after/.test(l.msg))).toEqual([]);
    expect(lines.some((l) => l.level === WARN && /DB index|out of range/i.test(String(l.err)))).toBe(true);
  });
});

