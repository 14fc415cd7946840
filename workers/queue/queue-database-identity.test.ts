/**
 * The database identity `tuban batch --queue` and `tuban worker` compare, where the role may not
 * call pg_control_system() (managed PostgreSQL services revoke it): two databases of the same name
 * and schema, as on two clusters, are two, by the id migration 22 stored in each.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseIdentity, sameDatabase, type DatabaseIdentity } from '../../pipeline/store/database-identity.js';
import { migrate } from '../../pipeline/store/migrations.js';
import { openDatabase } from '../../pipeline/store/open-database.js';
import { servers, uniqueName } from '../testing/test-servers.js';

describe.runIf(servers)('database identity without pg_control_system', () => {
  let admin: pg.Client;
  const role = uniqueName('ident_role');
  const name = uniqueName('ident_db');
  const databases: string[] = [];

  const urlOf = (database: string, user?: string) => {
    const url = new URL(servers!.databaseUrl);
    url.pathname = `/${database}`;
    if (user) {
      url.username = user;
      url.password = 'pw';
    }
    return url.toString();
  };

  /** A database `name` owned by the role, with PostGIS, where no one but a superuser may call pg_control_system. */
  async function createDatabase(): Promise<void> {
    await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
    databases.push(name);
    const inside = new pg.Client({ connectionString: urlOf(name) });
    await inside.connect();
    try {
      await inside.query('CREATE EXTENSION postgis');
      await inside.query('REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC');
    } finally {
      await inside.end();
    }
  }

  /** The identity the role's session sees, after migrating the database as the commands do. */
  async function identityAs(user?: string): Promise<DatabaseIdentity> {
    const db = await openDatabase(urlOf(name, user));
    try {
      await migrate(db);
      return await databaseIdentity(db);
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: servers!.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
  });
  afterAll(async () => {
    for (const d of databases) await admin?.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`).catch(() => {});
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin?.end();
  });

  it('tells apart two databases of the same name and schema whose cluster it cannot read, and knows one as itself', async () => {
    await createDatabase();
    const first = await identityAs(role);
    expect(first).toMatchObject({ system: null, database: name, schema: 'public' });
    // The same database, read by a superuser (who may read the cluster) and by the role again: one.
    const bySuperuser = await identityAs();
    expect(bySuperuser.system).toMatch(/^\d+$/);
    expect(sameDatabase(first, bySuperuser)).toBe(true);
    expect(sameDatabase(first, await identityAs(role))).toBe(true);

    // Another database under the same name (as on another cluster): the first renamed away, a new one created.
    const old = uniqueName('ident_old');
    await admin.query(`ALTER DATABASE ${name} RENAME TO ${old}`);
    databases.push(old);
    await createDatabase();
    const second = await identityAs(role);
    expect(second).toMatchObject({ system: null, database: name, schema: 'public' });
    expect(sameDatabase(first, second)).toBe(false);
    expect(sameDatabase(second, first)).toBe(false);
    expect(second.id).not.toBe(first.id);
  }, 120_000);
});
