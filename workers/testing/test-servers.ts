/**
 * The servers `scripts/test-servers.mjs` started for this test run, for integration tests.
 * Outside CI a run without them (plain `vitest run`) leaves these tests out; under CI
 * (`CI=true`) their absence is an error, so a broken harness cannot pass as green.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export interface ServersState {
  postgres: { pid: number; port: number; url: string };
  redis: { pid: number; port: number; url: string };
  control: { url: string };
}

export interface TestServers {
  databaseUrl: string;
  redisUrl: string;
  /** Current pids and ports (the Redis pid changes on restart). */
  state(): ServersState;
  /**
   * Restart Redis on the same port. 'graceful' saves the dataset first (a maintenance
   * restart with persistence: jobs survive); 'crash' SIGKILLs it (everything is lost).
   */
  restartRedis(opts?: { downMs?: number; mode?: 'graceful' | 'crash' }): Promise<void>;
}

function fromEnv(): TestServers | undefined {
  const databaseUrl = process.env.TUBAN_TEST_DATABASE_URL;
  const redisUrl = process.env.TUBAN_TEST_REDIS_URL;
  const controlUrl = process.env.TUBAN_TEST_CONTROL_URL;
  const statePath = process.env.TUBAN_TEST_SERVERS_STATE;
  if (!databaseUrl || !redisUrl || !controlUrl || !statePath) {
    if (process.env.CI === 'true' || process.env.CI === '1') {
      throw new Error(
        'integration tests need PostgreSQL and Redis: TUBAN_TEST_DATABASE_URL / TUBAN_TEST_REDIS_URL are not set. ' +
          'Run them through the harness: `npm test` (= node scripts/test-servers.mjs -- vitest run).',
      );
    }
    return undefined;
  }
  return {
    databaseUrl,
    redisUrl,
    state: () => JSON.parse(readFileSync(statePath, 'utf8')) as ServersState,
    async restartRedis({ downMs = 0, mode = 'graceful' } = {}) {
      const res = await fetch(`${controlUrl}/redis/restart?downMs=${downMs}&mode=${mode}`, { method: 'POST' });
      if (!res.ok) throw new Error(`redis restart failed: ${await res.text()}`);
    },
  };
}

/** The servers, or undefined when this run has none (tests use `describe.runIf(servers)`). */
export const servers: TestServers | undefined = fromEnv();

/** A name no other test (or test run sharing the servers) uses: queue names, prefixes, schemas. */
export function uniqueName(label: string): string {
  return `t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** A pg pool whose connections see only `schema` (then public, where PostGIS lives). Drops the schema on close. */
export async function scratchSchema(databaseUrl: string, label: string): Promise<{ pool: pg.Pool; schema: string; close(): Promise<void> }> {
  const schema = uniqueName(label);
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: databaseUrl, options: `-c search_path=${schema},public`, max: 4 });
  return {
    pool,
    schema,
    async close() {
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    },
  };
}
