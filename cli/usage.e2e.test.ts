/**
 * The built `tuban` command on mistakes made before any tile is read: help, unknown flags, a
 * missing --zones, a non-number --mmu, --out on an existing file. Each is a sentence naming
 * what the user typed (exit 64, no stack trace), or usage on stdout (exit 0) when asked for.
 * Needs `npm run build` first (npm test does it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../fixtures/synthetic-scene.js';
import { CLI, runCli } from './testing/run-cli.js';


let dir: string;

const tuban = (args: string[]) => runCli(args);

/** Arguments of a batch that would otherwise start (the tile/zone paths need not exist: usage is checked first). */
const batch = (...extra: string[]) => ['batch', '--epoch', '2026-10', '--tiles', join(dir, 'cur'), '--prior', join(dir, 'pri'), '--db', join(dir, 'db'), ...extra];

function expectUsageError(r: { code: number; stderr: string }, ...phrases: string[]): void {
  expect(r.code, r.stderr).toBe(64);
  for (const p of phrases) expect(r.stderr).toContain(p);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** A configuration file's problem: exit 64, one line naming the file and what is wrong, no usage, no stack. */
function expectConfigError(r: { code: number; stderr: string }, ...phrases: string[]): void {
  expect(r.code, r.stderr).toBe(64);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  for (const p of phrases) expect(r.stderr).toContain(p);
  expect(r.stderr).not.toContain('Usage:');
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-usage-'));
  // A zone file must exist (a missing one is a usage error of its own); usage stops before it is read.
  await writeFile(join(dir, 'z.geojson'), '{}');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban usage', () => {
  it('prints usage and exits 0 for --help, help and every subcommand --help', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const r = await tuban(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('tuban batch');
      expect(r.stdout).toContain('tuban worker');
    }
    for (const cmd of ['batch', 'worker', 'migrate', 'status', 'ledger', 'report']) {
      const r = await tuban([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`tuban ${cmd}`);
    }
    expect((await tuban(['batch', '--help'])).stdout).toContain('@gcj02');
  });

  it('rejects an unknown flag by name and suggests the near one (--zone → --zones)', async () => {
    expectUsageError(await tuban(batch('--zone', join(dir, 'z.geojson'))), '--zone ', 'did you mean --zones?');
    expectUsageError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--mmmu', '300')), '--mmmu', 'did you mean --mmu?');
    expectUsageError(await tuban(['worker', '--concurency', '2']), '--concurency', 'did you mean --concurrency?');
    const far = await tuban(batch('--zones', join(dir, 'z.geojson'), '--frobnicate'));
    expectUsageError(far, 'unknown flag --frobnicate');
    expect(far.stderr).not.toContain('did you mean');
  });

  it('requires --zones for a batch', async () => {
    expectUsageError(await tuban(batch()), '--zones is required');
  });

  it('names --mmu, the flag typed, when its value is not a number', async () => {
    const r = await tuban(batch('--zones', join(dir, 'z.geojson'), '--mmu', 'abc'));
    expectUsageError(r, '--mmu', "'abc'");
    expect(r.stderr).not.toContain('mmuM2');
  });

  it('rejects a bad CRS suffix on a zone file', async () => {
    expectUsageError(await tuban(batch('--zones', `${join(dir, 'z.geojson')}@EPSG:99999`)), 'EPSG:99999');
  });

  it('refuses --out on an existing file with a sentence, not a stack trace', async () => {
    const file = join(dir, 'not-a-dir.txt');
    await writeFile(file, 'x');
    expectUsageError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--out', file)), `--out ${file} is an existing file`);
  });

  // Node's recursive mkdir never returns under /proc (procfs answers ENOENT for a child it cannot
  // hold): these hung at 100 % of a core before, and would now time out rather than pass.
  // Both are found once the batch is planned (a plan that fails creates nothing): real inputs here.
  it.runIf(existsSync('/proc/self'))('ends with a sentence for an --out or --db where no directory can be made', async () => {
    const scene = await generateScene({ dir: join(dir, 'scene'), size: 128, seed: 3, tilesPerSide: 1 });
    const inputs = ['--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath];
    expectUsageError(await tuban(['batch', ...inputs, '--db', join(dir, 'db-out'), '--out', '/proc/tuban-no-such/out']), '--out /proc/tuban-no-such/out: cannot create this directory (ENOENT)');
    const r = await tuban(['batch', ...inputs, '--out', join(dir, 'out-db'), '--db', '/proc/tuban-no-such/db']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe("tuban: ENOENT: cannot create directory '/proc/tuban-no-such' (its parent cannot hold it)");
  }, 20_000);

  it('refuses a --zones or --landuse path that names no file, naming the flag and the path', async () => {
    expectUsageError(await tuban(batch('--zones', join(dir, 'z.geojson'), join(dir, 'farmland-typo.gpkg'))), `--zones ${join(dir, 'farmland-typo.gpkg')}: no such file`);
    expectUsageError(await tuban(batch('--zones', `${join(dir, 'gone.json')}@gcj02`)), `--zones ${join(dir, 'gone.json')}: no such file`);
    expectUsageError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--landuse', join(dir, 'sandiao.gpkg'))), `--landuse ${join(dir, 'sandiao.gpkg')}: no such file`);
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });

  it('asks for --epoch by name, with an example, when it is missing', async () => {
    expectUsageError(await tuban(['batch', '--tiles', join(dir, 'cur'), '--prior', join(dir, 'pri'), '--zones', join(dir, 'z.geojson')]), '--epoch is required', '--epoch 2026-10');
  });

  it('refuses --db on an existing file with a sentence naming it, not a tile', async () => {
    const file = join(dir, 'db-is-a-file');
    await writeFile(file, 'x');
    expectUsageError(await tuban(['batch', '--epoch', '2026-10', '--tiles', join(dir, 'cur'), '--prior', join(dir, 'pri'), '--zones', join(dir, 'z.geojson'), '--db', file]), `--db ${file} is an existing file`);
    expectUsageError(await tuban(['ledger', '--epoch', '2026-10', '--db', file]), `--db ${file} is an existing file`);
  });

  it('refuses a bad --deadlines or --calendar file of serve in one line naming it (exit 64), before opening the database', async () => {
    const bad = join(dir, 'bad-deadlines.yaml');
    await writeFile(bad, 'rectification: {kind: workdays, days: 15}\n');
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'holidays: [2026-10-01\nworkdays: x: y\n');
    const badDay = join(dir, 'bad-calendar.yaml');
    await writeFile(badDay, 'holidays:\n  - 2026-02-30x\n');
    const serve = (...extra: string[]) => tuban(['serve', '--port', '0', '--db', join(dir, 'serve-db'), '--data', join(dir, 'data'), ...extra]);
    expectConfigError(await serve('--deadlines', bad), `--deadlines ${bad}: rectification.kind`, 'working_days');
    expectConfigError(await serve('--deadlines', broken), `--deadlines ${broken}: `);
    expectConfigError(await serve('--deadlines', join(dir, 'none.yaml')), `--deadlines ${join(dir, 'none.yaml')}: no such file`);
    expectConfigError(await serve('--calendar', '/nonexistent.yaml'), '--calendar /nonexistent.yaml: no such file');
    expectConfigError(await serve('--calendar', badDay), `--calendar ${badDay}: holidays.0`);
    expectConfigError(await serve('--calendar', dir), `--calendar ${dir}: is a folder`);
    expect(existsSync(join(dir, 'serve-db'))).toBe(false);
  });

  it('refuses a bad --rules file of batch before any tile is read (exit 64, one line)', async () => {
    const broken = join(dir, 'rules-broken.yaml');
    await writeFile(broken, 'foo: [\n');
    const wrong = join(dir, 'rules-wrong.yaml');
    await writeFile(wrong, 'version: 1\nrules: 7\n');
    expectConfigError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--rules', join(dir, 'no-rules.yaml'))), `--rules ${join(dir, 'no-rules.yaml')}: no such file`);
    expectConfigError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--rules', broken)), `--rules ${broken}: cannot parse rule table`);
    expectConfigError(await tuban(batch('--zones', join(dir, 'z.geojson'), '--rules', wrong)), `--rules ${wrong}: `);
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });

  it('says a month, day or quarter is out of range where one is read from the command line', async () => {
    const zones = ['--zones', join(dir, 'z.geojson')];
    const r = await tuban(['batch', '--epoch', '2026-13', '--tiles', join(dir, 'cur'), '--prior', join(dir, 'pri'), '--db', join(dir, 'db'), ...zones]);
    expectUsageError(r, "--epoch: '2026-13' has month 13; months run 01–12");
    expect(r.stderr).not.toContain('must look like');
    expectUsageError(await tuban(batch(...zones, '--tiles-date', '2026-13')), "--tiles-date: '2026-13' has month 13");
    expectUsageError(await tuban(batch(...zones, '--prior-date', '2026-02-30')), "--prior-date: '2026-02-30' has day 30; 2026-02 has days 01–28");
    expectUsageError(await tuban(['ledger', '--epoch', '2026-13', '--db', join(dir, 'db')]), "--epoch: '2026-13' has month 13");
    expectUsageError(await tuban(['ledger', '--epoch', '2026-10', '--as-of', '2026-10-32', '--db', join(dir, 'db')]), "--as-of: '2026-10-32' has day 32");
    expectUsageError(await tuban(['report', '--quarter', '2026Q5', '--db', join(dir, 'db')]), "--quarter: '2026Q5' has quarter 5; quarters run Q1–Q4");
    expectUsageError(await tuban(['report', '--quarter', '2026-Q4', '--db', join(dir, 'db')]), "--quarter: '2026-Q4' is not YYYYQn");
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });

  it('names --log-level and the levels when its value is not one (it was a pino stack trace, exit 1)', async () => {
    const r = await tuban(batch('--zones', join(dir, 'z.geojson'), '--log-level', 'loud', '--out', join(dir, 'out-loud')));
    expectUsageError(r, "--log-level: 'loud' is not one of fatal, error, warn, info, debug, trace, silent");
    expect(existsSync(join(dir, 'out-loud'))).toBe(false);
    expectUsageError(await tuban(['serve', '--port', '0', '--log-level', 'verbose', '--db', join(dir, 'db-serve-loud')]), "--log-level: 'verbose'");
    expect(existsSync(join(dir, 'db-serve-loud'))).toBe(false);
  });

  // With --db given nothing asked for the settings before a tile was scored: the batch was planned,
  // its --out and batch.log made, and the first tile begun before CONFIG.INVALID stopped it.
  it('refuses a TUBAN_* setting out of its range before the batch is planned (CONFIG.INVALID, exit 64, nothing made)', async () => {
    const scene = await generateScene({ dir: join(dir, 'scene-config'), size: 128, seed: 3, tilesPerSide: 1 });
    const inputs = ['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath];
    for (const [name, value] of [['TUBAN_MAX_TILE_BYTES', 'abc'], ['TUBAN_SCORE_WORKERS', '-1'], ['TUBAN_INFLATE_WORKERS', 'x']]) {
      const out = join(dir, `out-${name}`);
      const r = await runCli([...inputs, '--db', join(dir, `db-${name}`), '--out', out], { env: { [name]: value } });
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain(`tuban: CONFIG.INVALID: environment: ${name}`);
      expect(r.stderr).toContain(`'${value}'`);
      expect(existsSync(out), name).toBe(false);
      expect(existsSync(join(dir, `db-${name}`)), name).toBe(false);
    }
  }, 20_000);

  // Found once the run was under way: its --out and batch.log made, an embedded --db made from the template.
  it('refuses --queue without a PostgreSQL --db or without REDIS_URL before anything is made (exit 64)', async () => {
    const scene = await generateScene({ dir: join(dir, 'scene-queue'), size: 128, seed: 3, tilesPerSide: 1 });
    const inputs = ['batch', '--queue', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath];
    const embedded = await runCli([...inputs, '--db', join(dir, 'db-queue'), '--out', join(dir, 'out-queue')], { env: { DATABASE_URL: '', REDIS_URL: 'redis://127.0.0.1:1' } });
    expectUsageError(embedded, '--queue needs a PostgreSQL server');
    expect([existsSync(join(dir, 'db-queue')), existsSync(join(dir, 'out-queue'))]).toEqual([false, false]);
    const noRedis = await runCli([...inputs, '--db', 'postgres://tuban@127.0.0.1:1/tuban', '--out', join(dir, 'out-queue')], { env: { REDIS_URL: '' } });
    expectUsageError(noRedis, 'REDIS_URL is not set');
    expect(existsSync(join(dir, 'out-queue'))).toBe(false);
  }, 20_000);

  it('refuses tuban ledger and report on a --db that holds no database, creating nothing (a typo wrote an empty ledger, exit 0)', async () => {
    const typo = join(dir, 'db-typo');
    for (const args of [['ledger', '--epoch', '2026-10'], ['report', '--quarter', '2026Q4']]) {
      const r = await tuban([...args, '--db', typo, '--out', join(dir, 'out-typo')]);
      expectUsageError(r, `--db ${typo}: no database there`, `run tuban ${args[0]} where you ran the batch`);
      expect(existsSync(typo), args[0]).toBe(false);
      expect(existsSync(join(dir, 'out-typo')), args[0]).toBe(false);
    }
  });

  it('says in one line that PostgreSQL did not answer, naming the address, when it is down (it was a stack trace)', async () => {
    // A port nothing listens on: a PostgreSQL stopped, or not up yet when systemd starts tuban serve.
    const { createServer } = await import('node:net');
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const url = `postgres://tuban:secret-pw@127.0.0.1:${closed}/tuban`;
    for (const args of [['migrate'], ['serve', '--port', '0', '--data', join(dir, 'data-pg-down')]]) {
      const r = await tuban([...args, '--db', url]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain(`tuban: DB.TRANSIENT: connect ECONNREFUSED 127.0.0.1:${closed}`);
      expect(r.stderr).not.toContain('secret-pw');
    }
  });

  it('names a DATABASE_URL host that does not exist in one line, exit 64 (configuration), not a stack trace', async () => {
    const r = await tuban(['migrate', '--db', 'postgres://tuban:secret-pw@nosuchhost.invalid:5432/tuban']);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain('tuban: DB.SETUP: postgres://tuban:***@nosuchhost.invalid:5432/tuban: getaddrinfo ENOTFOUND nosuchhost.invalid (check the host in DATABASE_URL (or --db): no such host)');
  });

  it.runIf(process.env.TUBAN_TEST_DATABASE_URL)('names what to set up, in one line, when PostgreSQL refuses the database: none of that name, no PostGIS in it (each was a stack trace)', async () => {
    const server = new URL(process.env.TUBAN_TEST_DATABASE_URL!);
    const url = (db: string, user = server.username, password = 'secret-pw') => `postgres://${user}:${password}@${server.host}/${db}`;
    const admin = new pg.Client({ connectionString: server.href });
    await admin.connect();
    const bare = `tuban_bare_${process.pid}`;
    const role = `tuban_role_${process.pid}`;
    try {
      const missing = await tuban(['migrate', '--db', url('no_such_db')]);
      expect(missing.code, missing.stderr).toBe(64);
      expect(missing.stderr).toBe(`tuban: DB.SETUP: postgres://${server.username}:***@${server.host}/no_such_db: database "no_such_db" does not exist (create it as the postgres user: CREATE DATABASE no_such_db OWNER <role>;)\n`);

      // A database without PostGIS, opened by a role that may not create the extension.
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`CREATE DATABASE ${bare} OWNER ${role}`);
      const noPostgis = await tuban(['migrate', '--db', url(bare, role)]);
      expect(noPostgis.code, noPostgis.stderr).toBe(64);
      expect(noPostgis.stderr.trim().split('\n'), noPostgis.stderr).toHaveLength(1);
      expect(noPostgis.stderr).toContain(`tuban: DB.SETUP: postgres://${role}:***@${server.host}/${bare}: PostGIS is not available and could not be created: permission denied to create extension "postgis"`);
      expect(noPostgis.stderr).toContain(`as the postgres user: CREATE EXTENSION postgis; in database ${bare}`);
      expect(noPostgis.stderr).not.toContain('secret-pw');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${bare}`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
