/**
 * What openDatabase tells an operator when the server is not there or not as expected: the
 * connection's own reason (never a parser's TypeError, never an empty message, never the password),
 * and a bug's error kept a bug, not a "try again".
 */
import { describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { isTransient, openDatabase } from './open-database.js';

const url = process.env.TUBAN_TEST_DATABASE_URL;

describe('openDatabase: a server that is not there', () => {
  it("fails a socket URL (postgres://u:pw@/db?host=DIR, which new URL refuses) with the connection's reason, not a TypeError", async () => {
    const err = (await openDatabase('postgres://tuban:s3cret-pw@/tuban?host=/tmp/tuban-no-such-socket-dir').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TypeError);
    expect(err.message).toContain('/tmp/tuban-no-such-socket-dir');
    expect(err.message).not.toContain('s3cret-pw');
  });
});

describe('isTransient: 08P01', () => {
  const err = (message: string) => Object.assign(new Error(message), { code: '08P01' });
  it("keeps PgBouncer's refusals retried (a pool at its limit, a server restarting behind it) and a bug's protocol violation not", () => {
    expect(isTransient(err('no more connections allowed (max_client_conn)'))).toBe(true);
    expect(isTransient(err('pgbouncer cannot connect to server'))).toBe(true);
    expect(isTransient(err('bind message supplies 1 parameters, but prepared statement "" requires 2'))).toBe(false);
  });
});

describe.skipIf(!url && process.env.CI !== 'true')('openDatabase: errors of a real PostgreSQL', () => {
  it('keeps a protocol violation (08P01: a statement given the wrong number of parameters) a bug, not DB.TRANSIENT', async () => {
    const db = await openDatabase(url!);
    try {
      const err = await db.transaction((tx) => tx.query('SELECT $1::int + $2::int AS n', [1])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err instanceof TubanError ? err.code : (err as { code?: string }).code).not.toBe('DB.TRANSIENT');
    } finally {
      await db.close();
    }
  });
});
