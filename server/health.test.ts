/**
 * GET /api/health, what the city's monitoring polls: public, 200 with the versions while the
 * database answers, 503 with only the class of the problem when it does not (a held lock, a
 * database that went away, one that was closed), never the case sync, never the sign-in throttle.
 * A database kept by the server's own work for longer than a probe waits answers 200 `busy`, or 503
 * `stuck` once the oldest of that work has been under way for longer than a bound (on PostgreSQL,
 * where the probe does not wait behind ours, also health-postgres.test.ts).
 * With TUBAN_TEST_DATABASE_URL (`node scripts/test-servers.mjs -- npx vitest run server/health.test.ts`)
 * also a PostgreSQL that stops answering behind a TCP proxy and comes back. And a stopping server
 * does not wait for ever on a request that never finishes.
 */
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { tcpRelay } from '../pipeline/testing/tcp-relay.js';
import type { Database } from '../pipeline/store/queryable.js';
import { trackStatements } from './statements-in-flight.js';
import { addUsers, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SCHEMA = Math.max(...MIGRATIONS.map((m) => m.version));

let raw: Database;
let db: Database;
let t: TestApp;

beforeAll(async () => {
  // The handle the app counts statements on (as tuban serve gives it the one its socket shares).
  raw = await openTestDatabase();
  db = trackStatements(raw);
  await addUsers(db, [['chief', 'lead']]);
  t = await testApp(db, { healthTimeoutMs: 300 });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const health = (app = t.app) => app.inject({ method: 'GET', url: '/api/health' });

/**
 * A transaction on `handle` that runs `statement`, then holds the database until released: `begun`
 * once the statement has run, `release()` ends it and waits for it.
 */
function holdDatabase(handle: Database, statement: string): { begun: Promise<void>; release: () => Promise<void> } {
  let free!: () => void;
  const held = new Promise<void>((r) => (free = r));
  let started!: () => void;
  const begun = new Promise<void>((r) => (started = r));
  const work = handle.transaction(async (tx) => {
    await tx.query(statement);
    started();
    await held;
  });
  return { begun, release: async () => { free(); await work; } };
}

describe('GET /api/health', () => {
  it('answers 200 without a sign-in: status, database, version and schema, nothing else, never cached', async () => {
    const r = await health();
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', database: 'ok', version: VERSION, schema: SCHEMA });
    expect(r.headers['cache-control']).toBe('no-store');
    expect((await t.app.inject({ method: 'HEAD', url: '/api/health' })).statusCode).toBe(200);
  });

  it('does not run the case sync: a new batch gets its cases from a read of cases, not from a probe', async () => {
    await writeBatch(db, 'b-health', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117.0, 36.0))], '2026-11-02');
    const cases = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases')).rows[0].n;
    expect((await health()).statusCode).toBe(200);
    expect(await cases()).toBe(0);
    expect((await t.request('chief', '/api/inbox/counts')).statusCode).toBe(200);
    expect(await cases()).toBe(1);
  });

  it('is not refused by the sign-in throttle that refuses the same address', async () => {
    await db.query(`INSERT INTO sign_in_failures (client, name, at) SELECT '127.0.0.1', 'guess' || i, now() FROM generate_series(1, 50) AS i`);
    const signIn = await t.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD } });
    expect(signIn.statusCode).toBe(429);
    expect((await health()).statusCode).toBe(200);
    await db.query('DELETE FROM sign_in_failures');
  });

  it('answers 503 timeout, within its bound, while the database does not answer and none of the server\'s own work holds it (a lock held on the table it reads)', async () => {
    // Through the raw handle: work the server does not know of (on PostgreSQL, another session).
    const holder = holdDatabase(raw, 'LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
    try {
      await holder.begun;
      const started = Date.now();
      const r = await health();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ status: 'unavailable', database: 'unavailable', reason: 'timeout', version: VERSION, schema: null });
      // The first probe's query still waits behind the lock: a probe is not the server's work, so the
      // next one says timeout too, not busy.
      const again = await health();
      expect(again.statusCode).toBe(503);
      expect(again.json()).toMatchObject({ reason: 'timeout' });
    } finally {
      await holder.release();
    }
    expect((await health()).statusCode).toBe(200);
  });

  it('answers 200 busy, not 503, while a transaction of the server\'s own holds the database longer than a probe waits (an export writing its files)', async () => {
    // Its files being written between its statements.
    const work = holdDatabase(db, 'SELECT count(*) FROM schema_migrations');
    try {
      await work.begun;
      // The embedded database serves one transaction at a time: the probe waits its 300 ms behind
      // ours, which is work, not an outage. A PostgreSQL server answers the probe on a connection of
      // its own at once, so ours is busy once under way for longer than a probe waits.
      if (db.kind === 'postgres') await sleep(400);
      const r = await health();
      expect([r.statusCode, r.json()]).toEqual([200, { status: 'ok', database: 'busy', version: VERSION, schema: null }]);
    } finally {
      await work.release();
    }
    expect((await health()).json()).toMatchObject({ database: 'ok', schema: SCHEMA });
  });

  it('answers 503 stuck, with a warning naming how long, once the oldest of the server\'s own work holding the database is older than the bound (a transaction that never ends)', async () => {
    // The bound shortened as the probe's timeout is (production: HEALTH_STUCK_MS, 5 min); the probe's 300 ms wait alone exceeds it.
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const app = (await testApp(db, { healthTimeoutMs: 300, healthStuckMs: 200, logger: { level: 'warn', stream } })).app;
    // A hung export: never ends on its own.
    const work = holdDatabase(db, 'SELECT count(*) FROM schema_migrations');
    try {
      await work.begun;
      // On PostgreSQL the probe does not wait behind ours: the same age reached before it is sent.
      if (db.kind === 'postgres') await sleep(400);
      const r = await health(app);
      expect([r.statusCode, r.json()]).toEqual([503, { status: 'unavailable', database: 'unavailable', reason: 'stuck', version: VERSION, schema: null }]);
      const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('(stuck)'));
      expect(warning?.level).toBe(40);
      const [, held] = warning?.msg.match(/the oldest for (\d+\.\d) s \(more than 0\.2 s\)/) ?? [];
      expect(Number(held)).toBeGreaterThanOrEqual(0.3); // at least the probe's own wait
      // What it does there, from the server's own view of our connections: a request that never ended.
      if (db.kind === 'postgres') expect(warning?.msg).toMatch(/idle in transaction/);
    } finally {
      await work.release();
      await app.close();
    }
    // The same bound, nothing of ours under way: healthy again.
    expect((await health()).json()).toMatchObject({ database: 'ok', schema: SCHEMA });
  });

  it('answers after one long statement on the embedded database, which holds the whole process meanwhile', async () => {
    // PGlite runs on the server's own thread: a probe is not even read until the statement ends, then answered at once.
    const long = db.query('SELECT pg_sleep(1)');
    const r = await health();
    await long;
    expect(r.json()).toEqual({ status: 'ok', database: 'ok', version: VERSION, schema: SCHEMA });
  });

  it('is listed in /openapi.json as public, with its 503', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>> };
    const get = doc.paths['/api/health'].get;
    expect(get.security).toEqual([]);
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '503']));
  });

  it('a stopping server cuts a request still in flight after its grace period, so that close() ends', async () => {
    const app = (await testApp(db, { stopGraceMs: 300 })).app;
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const cut = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    // A sign-in whose body never comes (a client gone quiet on a slow link).
    socket.write('POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":');
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5000);
    await cut;
  }, 20_000);

  it('answers 503 closed once the database is closed (a stopping server)', async () => {
    await db.close();
    const r = await health();
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ status: 'unavailable', database: 'unavailable', reason: 'closed', version: VERSION, schema: null });
  });
});

describe.runIf(process.env.TUBAN_TEST_DATABASE_URL)('GET /api/health against a PostgreSQL that goes away', () => {
  it('answers 503 unreachable without the address, and 200 again once the server is back', async () => {
    const proxy = tcpRelay(new URL(process.env.TUBAN_TEST_DATABASE_URL!));
    await proxy.up();
    const port = new URL(proxy.url()).port;
    const remote = await openDatabase(proxy.url(), { schema: `tuban_health_${process.pid}_${Date.now()}` });
    await migrate(remote);
    const app = (await testApp(remote, { healthTimeoutMs: 1500 })).app;
    try {
      expect((await health(app)).statusCode).toBe(200);
      await proxy.down();
      const down = await health(app);
      expect(down.statusCode).toBe(503);
      expect(down.json()).toEqual({ status: 'unavailable', database: 'unavailable', reason: 'unreachable', version: VERSION, schema: null });
      expect(down.body).not.toContain(String(port));
      expect(down.body).not.toContain('127.0.0.1');
      await proxy.up();
      expect((await health(app)).json()).toMatchObject({ status: 'ok', schema: SCHEMA });
    } finally {
      await app.close();
      await remote.close();
      await proxy.down().catch(() => undefined);
    }
  }, 60_000);
});
