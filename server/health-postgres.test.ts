/**
 * GET /api/health on a PostgreSQL server, where the probe's query does not wait behind the server's
 * own work as on the embedded database: work of ours that hangs is reported all the same — 200 busy
 * once older than a probe waits, 503 stuck once older than the bound, with a warning naming how long,
 * what it waits on and who holds the lock — and ok again once it ends. Another application's session
 * is not counted as ours. Needs a server:
 * `node scripts/test-servers.mjs -- npx vitest run server/health-postgres.test.ts`.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import type { Database } from '../pipeline/store/queryable.js';
import { testApp } from './testing/fixtures.js';

const DATABASE_URL = process.env.TUBAN_TEST_DATABASE_URL;
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let ours: Database;
let outside: Database;

beforeAll(async () => {
  if (!DATABASE_URL) return;
  const schema = `tuban_hpg_${process.pid}_${Date.now()}`;
  ours = await openDatabase(DATABASE_URL, { schema });
  await migrate(ours);
  // Another application on the same tables: a pool, and so sessions, of its own.
  outside = await openDatabase(DATABASE_URL, { schema });
}, 120_000);

afterAll(async () => {
  await ours?.close();
  await outside?.close();
});

/** A session of `handle` holding `lock` in a transaction until released: `pid` its backend's, once taken. */
function holdLock(handle: Database, lock: string): { pid: Promise<number>; release: () => Promise<void> } {
  let free!: () => void;
  const held = new Promise<void>((r) => (free = r));
  let taken!: (pid: number) => void;
  const pid = new Promise<number>((r) => (taken = r));
  const work = handle.transaction(async (tx) => {
    await tx.query(lock);
    taken((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await held;
  });
  return { pid, release: async () => { free(); await work; } };
}

/** An app on our handle whose log lines are kept: the probe waits 300 ms, work of ours may be under way for `stuckMs`. */
async function appWithLog(stuckMs: number) {
  const lines: { level: number; msg: string }[] = [];
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) };
  const { app } = await testApp(ours, { healthTimeoutMs: 300, healthStuckMs: stuckMs, logger: { level: 'info', stream } });
  const health = () => app.inject({ method: 'GET', url: '/api/health' });
  const logged = (word: string) => lines.filter((l) => l.msg.startsWith('health:') && l.msg.includes(word));
  return { app, health, logged };
}

/** A sign-in, which first reads sign_in_failures (the throttle): it waits while another session locks that table. */
const signIn = (app: Awaited<ReturnType<typeof appWithLog>>['app'], name = 'nobody') =>
  app.inject({ method: 'POST', url: '/api/session', payload: { name, password: 'not-a-password' } });

const BUSY = { status: 'ok', database: 'busy', version: VERSION, schema: null };
const STUCK = { status: 'unavailable', database: 'unavailable', reason: 'stuck', version: VERSION, schema: null };

describe.runIf(DATABASE_URL)('GET /api/health on PostgreSQL: the server\'s own work that hangs', () => {
  it('a request of ours waiting on a lock another session holds: ok, then 200 busy, then 503 stuck naming how long, the wait and its holder; ok after release', async () => {
    const { app, health, logged } = await appWithLog(1500);
    const holder = holdLock(outside, 'LOCK TABLE sign_in_failures IN ACCESS EXCLUSIVE MODE');
    let request: ReturnType<typeof signIn> | undefined;
    try {
      const holderPid = await holder.pid;
      // Another application's transaction, idle while it holds the lock, is not work of ours.
      expect((await health()).json()).toMatchObject({ database: 'ok' });
      request = signIn(app);
      await sleep(500);
      // Under way for longer than a probe waits, within the bound: at work, no alarm.
      const busy = await health();
      expect([busy.statusCode, busy.json()]).toEqual([200, BUSY]);
      expect(logged('busy').at(-1)?.msg).toMatch(/waiting on Lock/);
      await sleep(1300);
      const stuck = await health();
      expect([stuck.statusCode, stuck.json()]).toEqual([503, STUCK]);
      const warning = logged('(stuck)').at(-1);
      expect(warning?.level).toBe(40);
      const [, held] = warning?.msg.match(/the oldest for (\d+\.\d) s \(more than 1\.5 s\)/) ?? [];
      expect(Number(held)).toBeGreaterThanOrEqual(1.5);
      expect(Number(held)).toBeLessThan(10);
      expect(warning?.msg).toMatch(/waiting on Lock/);
      // The holder named as what it is: a session outside this server, idle in its transaction.
      expect(warning?.msg).toContain(`blocked by pid ${holderPid} (another session`);
      expect(warning?.msg).toMatch(new RegExp(`pid ${holderPid} \\(another session[^)]*idle in transaction`));
      await holder.release();
      expect((await request).statusCode).toBe(401);
      expect((await health()).json()).toMatchObject({ status: 'ok', database: 'ok' });
    } finally {
      await holder.release();
      await request;
      await app.close();
    }
  }, 30_000);

  it('the pool exhausted by requests of ours that wait, so the probe itself queues for a connection: 200 busy, then 503 stuck naming the pool; ok after release', async () => {
    const { app, health, logged } = await appWithLog(2000);
    const holder = holdLock(outside, 'LOCK TABLE sign_in_failures IN ACCESS EXCLUSIVE MODE');
    const requests: ReturnType<typeof signIn>[] = [];
    try {
      await holder.pid;
      // More than the pool's 8 connections: every one waits on the lock, the rest (and the probe) queue.
      // Each a name of its own: more than 10 wrong guesses of one name at once are throttled (429).
      for (let i = 0; i < 12; i++) requests.push(signIn(app, `nobody${i}`));
      await sleep(500);
      const started = Date.now();
      const busy = await health();
      expect(Date.now() - started).toBeLessThan(2000); // the probe's own wait is bounded
      expect([busy.statusCode, busy.json()]).toEqual([200, BUSY]);
      expect(logged('busy').at(-1)?.msg).toMatch(/all 8 connections of this server's pool in use, \d+ queries waiting for one, this probe's among them/);
      await sleep(1500);
      const stuck = await health();
      expect([stuck.statusCode, stuck.json()]).toEqual([503, STUCK]);
      const warning = logged('(stuck)').at(-1);
      expect(warning?.msg).toMatch(/all 8 connections of this server's pool in use, \d+ queries waiting for one, this probe's among them/);
      expect(warning?.msg).toMatch(/the oldest for \d+\.\d s \(more than 2\.0 s\)/);
      await holder.release();
      expect((await Promise.all(requests)).map((r) => r.statusCode)).toEqual(requests.map(() => 401));
      expect((await health()).json()).toMatchObject({ status: 'ok', database: 'ok' });
    } finally {
      await holder.release();
      await Promise.all(requests);
      await app.close();
    }
  }, 30_000);

  it('a probe left waiting behind another session\'s lock gives its connection back soon after it stops waiting, not when the lock goes', async () => {
    const { app, health } = await appWithLog(60_000);
    const holder = holdLock(outside, 'LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
    try {
      await holder.pid;
      for (let i = 0; i < 2; i++) expect((await health()).json()).toMatchObject({ reason: 'timeout' });
      expect(ours.connections!().open - ours.connections!().idle).toBeGreaterThan(0); // both still wait there
      // The server cancels each a second after the probe's 300 ms: otherwise every probe while the
      // lock is held would keep one of the pool's 8 connections, and the requests would queue.
      await sleep(1500);
      const pool = ours.connections!();
      expect(pool.open - pool.idle).toBe(0);
    } finally {
      await holder.release();
      await app.close();
    }
  }, 30_000);
});
