/**
 * `tuban user` through the built CLI on an embedded database: bureau ids, district and township codes
 * checked before anything is added, a warning for a district or township no batch has routed a polygon to,
 * a township's own account and a city-wide one (named by tuban serve), an empty
 * standard input said as such, a password typed twice on a terminal, `enable` and `password`, and each subcommand's own exit codes in
 * its help. Needs `npm run build` first (npm test does it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { polygon, square, writeBatch } from '../server/testing/fixtures.js';
import { SignInThrottle } from '../server/auth/sign-in-throttle.js';
import { findUser } from '../server/auth/user-store.js';
import { verifyPassword } from '../server/auth/password.js';
import { BUREAU_IDS } from '../schemas/vocabulary.js';
import { CLI, runCli } from './testing/run-cli.js';

const PASSWORD = 'correct horse battery staple';
let dir: string;
let db: string[];

const tuban = (args: string[], stdin = PASSWORD + '\n') => runCli([...args, ...db], { stdin });

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-user-'));
  db = ['--db', join(dir, 'db')];
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban user', () => {
  it('refuses an unknown bureau, listing the valid ids, and a district code that is not six digits (exit 64)', async () => {
    const bureau = await tuban(['user', 'add', 'wang', '--role', 'bureau', '--bureau', 'nosuch']);
    expect(bureau.code, bureau.stderr).toBe(64);
    expect(bureau.stderr).toContain(`--bureau: unknown bureau 'nosuch'; the bureaus are ${BUREAU_IDS.join(', ')}`);
    for (const code of ['99999', '3701020', 'jinan']) {
      const r = await tuban(['user', 'add', 'li', '--role', 'district', '--district', code]);
      expect(r.code, code).toBe(64);
      expect(r.stderr).toContain(`--district: '${code}' is not a district code (six digits`);
    }
    const lead = await tuban(['user', 'add', 'chief', '--role', 'lead', '--bureau', 'forestry']);
    expect([lead.code, lead.stderr]).toEqual([64, expect.stringContaining('--bureau is for --role bureau, not lead')]);
    const analyst = await tuban(['user', 'add', 'ana', '--role', 'analyst', '--district', '370102']);
    expect([analyst.code, analyst.stderr]).toEqual([64, expect.stringContaining('--district is for --role district, not analyst')]);
    expect(existsSync(join(dir, 'db'))).toBe(false); // refused before the database is opened
  });

  it('says no password was given on an empty standard input, not that it is too short', async () => {
    const r = await tuban(['user', 'add', 'chief', '--role', 'lead'], '');
    expect(r.code).toBe(64);
    const first = r.stderr.split('\n')[0]; // the usage follows, its exit codes naming PASSWORD_TOO_SHORT
    expect(first).toContain('no password given on standard input');
    expect(first).not.toContain('PASSWORD_TOO_SHORT');
  });

  it('refuses list, disable, enable, password and unthrottle where there is no database (a typo, another folder), making none', async () => {
    const nowhere = join(dir, 'no-db-here');
    for (const args of [['list'], ['disable', 'chief'], ['enable', 'chief'], ['password', 'chief'], ['unthrottle', '10.0.0.1']]) {
      const r = await runCli(['user', ...args, '--db', nowhere], { stdin: PASSWORD + '\n', env: { DATABASE_URL: '' } });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(64);
      expect(r.stderr.split('\n')[0]).toContain(`--db ${nowhere}: no database there (tuban batch, tuban serve or tuban user add makes it`);
      expect(existsSync(nowhere), args[0]).toBe(false);
    }
  });

  it('lists no users on a fresh database by saying so and how to add the first, exit 0', async () => {
    expect((await runCli(['migrate', ...db], {})).code).toBe(0); // a database made, no user in it yet
    const r = await tuban(['user', 'list']);
    expect(r.code, r.stderr).toBe(0);
    // Rows only on stdout (a script counting them counts none); the word for a person on stderr.
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`tuban user: no users in ${join(dir, 'db')} yet`);
    expect(r.stderr).toContain(`tuban user add <name> --role lead --db ${join(dir, 'db')}`);
  });

  it('says when it made a new embedded database for the account (on a PostgreSQL deployment without DATABASE_URL the account went nowhere the server reads, exit 0 and no word)', async () => {
    const fresh = join(dir, 'fresh-db');
    const first = await runCli(['user', 'add', 'chief', '--role', 'lead', '--db', fresh], { stdin: PASSWORD + '\n', env: { DATABASE_URL: '' } });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('added chief (lead)');
    expect(first.stderr).toContain(`tuban user: note: no database was at ${fresh}: made a new embedded one there for chief`);
    expect(first.stderr).toContain('set DATABASE_URL');
    const second = await runCli(['user', 'add', 'wang', '--role', 'lead', '--db', fresh], { stdin: PASSWORD + '\n', env: { DATABASE_URL: '' } });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('note');
  });

  it('adds a district user whose district no batch has routed a polygon to, with a warning; none for a known district', async () => {
    const unknown = await tuban(['user', 'add', 'li', '--role', 'district', '--district', '999999']);
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stdout).toContain('added li (district, district 999999)');
    expect(unknown.stderr).toContain('warning: no polygon of district 999999 is known yet');

    const scene = await generateScene({ dir: join(dir, 'scene'), size: 192, seed: 3, tilesPerSide: 1 });
    const out = join(dir, 'out');
    const batch = await runCli(['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', out, ...db]);
    expect(batch.code, batch.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'batch-report.json'), 'utf8')) as BatchReport;
    const known = Object.entries(report.counts.byDistrict).find(([, d]) => d.polygons > 0)![0];
    const added = await tuban(['user', 'add', 'zhao', '--role', 'district', '--district', known]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).not.toContain('warning');
  });

  it('refuses a password holding a NUL (a UTF-16 file piped in reads p\\0a\\0…), exit 65, adding or changing none', async () => {
    const add = await tuban(['user', 'add', 'nul', '--role', 'lead'], 'pass\u0000word123\n');
    expect([add.code, add.stderr.includes('USER.INVALID'), add.stderr.includes('NUL')], add.stderr).toEqual([65, true, true]);
    expect((await tuban(['user', 'list'])).stdout).not.toContain('nul\t');
    expect((await tuban(['user', 'add', 'nul', '--role', 'lead'])).code).toBe(0);
    const utf16 = await tuban(['user', 'password', 'nul'], 'a new and longer pass phrase\n'.split('').join('\u0000'));
    expect([utf16.code, utf16.stderr.includes('NUL')], utf16.stderr).toEqual([65, true]);
    const store = await openDatabase(join(dir, 'db'));
    try {
      expect(await verifyPassword(PASSWORD, (await findUser(store, 'nul'))!.password_hash)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("forgets the failed sign-ins counted against an address (unthrottle), an IPv6 one by its /64, and says when there were none", async () => {
    const store = await openDatabase(join(dir, 'db'));
    try {
      await migrate(store);
      const th = new SignInThrottle(store);
      for (let i = 0; i < 3; i++) await th.attempt('2001:db8:40:7::/64', 'wang', Date.now());
      await th.attempt('203.0.113.9', 'wang', Date.now());
    } finally {
      await store.close();
    }
    const cleared = await tuban(['user', 'unthrottle', '2001:db8:40:7:a:b:c:d']);
    expect([cleared.code, cleared.stdout, cleared.stderr]).toEqual([0, 'cleared 3 failed sign-in(s) counted against 2001:db8:40:7::/64\n', '']);
    const none = await tuban(['user', 'unthrottle', '198.51.100.7']);
    expect([none.code, none.stdout]).toEqual([0, 'cleared 0 failed sign-in(s) counted against 198.51.100.7\n']);
    expect(none.stderr).toContain('TUBAN_TRUST_PROXY');
    const usage = await tuban(['user', 'unthrottle']);
    expect([usage.code, usage.stderr.includes('tuban user unthrottle <address>')]).toEqual([64, true]);
    for (const typo of ['203.0.113', 'wang']) {
      const r = await tuban(['user', 'unthrottle', typo]);
      expect([r.code, r.stderr.includes(`'${typo}' is not an IP address`)], typo).toEqual([64, true]);
    }
    // The /64 as printed, in any spelling.
    const prefix = await tuban(['user', 'unthrottle', '2001:0DB8:40:7::/64']);
    expect([prefix.code, prefix.stdout]).toEqual([0, 'cleared 0 failed sign-in(s) counted against 2001:db8:40:7::/64\n']);
    const left = await openDatabase(join(dir, 'db'));
    try {
      expect((await left.query<{ client: string }>('SELECT client FROM sign_in_failures')).rows).toEqual([{ client: '203.0.113.9' }]);
    } finally {
      await left.close();
    }
  });

  it('disables and enables an account, resets its password, and exits 65 USER.NOT_FOUND for an unknown one', async () => {
    expect((await tuban(['user', 'add', 'wang', '--role', 'bureau', '--bureau', 'forestry'])).code).toBe(0);
    expect((await tuban(['user', 'disable', 'wang'])).stdout).toBe('disabled wang\n');
    expect((await tuban(['user', 'list'])).stdout).toContain('wang\tbureau\tforestry\tdisabled');
    const enable = await tuban(['user', 'enable', 'wang']);
    expect([enable.code, enable.stdout]).toEqual([0, 'enabled wang\n']);
    expect((await tuban(['user', 'list'])).stdout).toContain('wang\tbureau\tforestry\tactive');
    const short = await tuban(['user', 'password', 'wang'], 'short\n');
    expect([short.code, short.stderr.includes('USER.PASSWORD_TOO_SHORT')]).toEqual([65, true]);
    const empty = await tuban(['user', 'password', 'wang'], '');
    expect([empty.code, empty.stderr.includes('no password given on standard input')]).toEqual([64, true]);
    const reset = await tuban(['user', 'password', 'wang'], 'a new and longer pass phrase\n');
    expect([reset.code, reset.stdout, reset.stderr]).toEqual([0, 'password of wang changed\n', '']);
    // A disabled account's new password does not let it in, and the admin is told so.
    await tuban(['user', 'disable', 'wang']);
    const whileDisabled = await tuban(['user', 'password', 'wang'], 'a new and longer pass phrase\n');
    expect([whileDisabled.code, whileDisabled.stderr]).toEqual([0, 'tuban user: note: wang is disabled and still cannot sign in; tuban user enable wang lets them\n']);
    await tuban(['user', 'enable', 'wang']);
    for (const sub of ['disable', 'enable', 'password']) {
      const r = await tuban(['user', sub, 'nobody']);
      expect(r.code, sub).toBe(65);
      expect(r.stderr).toContain('USER.NOT_FOUND');
    }
    const store = await openDatabase(join(dir, 'db'));
    try {
      const row = (await findUser(store, 'wang'))!;
      expect(await verifyPassword('a new and longer pass phrase', row.password_hash)).toBe(true);
      expect(await verifyPassword(PASSWORD, row.password_hash)).toBe(false);
      expect(row.sessions_valid_after_ms).toBeGreaterThan(Date.now() - 120_000); // earlier sessions end
      const audit = await store.query<{ action: string; after: unknown }>(`SELECT action, after FROM audit_log WHERE action LIKE 'user.%' AND after->>'name' = 'wang' ORDER BY id`);
      expect(audit.rows.map((r) => r.action)).toEqual(['user.add', 'user.disable', 'user.enable', 'user.password', 'user.disable', 'user.password', 'user.enable']);
      expect(JSON.stringify(audit.rows)).not.toContain('scrypt');
    } finally {
      await store.close();
    }
  });

  it('asks twice on a terminal, and changes nothing when the two differ (exit 65)', async () => {
    // util-linux `script` gives the command a pseudo-terminal; the answers are typed at its prompts.
    const onTerminal = (args: string[], answers: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const cmd = [process.execPath, CLI, ...args, ...db].map((a) => `'${a}'`).join(' ');
        const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        const prompts = ['Password: ', 'Again: '];
        const onOut = (d: Buffer) => {
          out += d.toString();
          while (prompts.length > 0 && out.includes(prompts[0])) {
            prompts.shift();
            p.stdin.write(answers.shift() + '\r');
          }
        };
        p.stdout.on('data', onOut);
        p.stderr.on('data', onOut);
        p.on('error', reject);
        p.on('close', (code) => resolve({ code, out }));
      });
    const differ = await onTerminal(['user', 'add', 'qian', '--role', 'lead'], [PASSWORD, PASSWORD + 'x']);
    expect([differ.code, differ.out]).toEqual([65, expect.stringContaining('the two passwords differ; nothing was changed')]);
    expect(differ.out).not.toContain(PASSWORD); // typed without echo
    const same = await onTerminal(['user', 'add', 'qian', '--role', 'lead'], [PASSWORD, PASSWORD]);
    expect([same.code, same.out]).toEqual([0, expect.stringContaining('added qian (lead)')]);
    const store = await openDatabase(join(dir, 'db'));
    try {
      expect(await verifyPassword(PASSWORD, (await findUser(store, 'qian'))!.password_hash)).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);

  it("adds a township's own account (--township), refuses a malformed code or one on another user, warns of an unknown township and a city-wide account; list and serve name them", async () => {
    const tdir = await mkdtemp(join(tmpdir(), 'tuban-user-township-'));
    const tdb = ['--db', join(tdir, 'db')];
    const town = (args: string[]) => runCli([...args, ...tdb], { stdin: PASSWORD + '\n' });
    try {
      for (const code of ['37010200', '3701020011', '370102001001', 'wangjia']) {
        const r = await town(['user', 'add', 'li', '--role', 'bureau', '--bureau', 'township', '--township', code]);
        expect([r.code, r.stderr], code).toEqual([64, expect.stringContaining(`--township: '${code}' is not a 乡镇/街道 code`)]);
      }
      for (const other of [['--role', 'bureau', '--bureau', 'forestry'], ['--role', 'district', '--district', '370102']]) {
        const r = await town(['user', 'add', 'li', ...other, '--township', '370102001']);
        expect([r.code, r.stderr], other.join(' ')).toEqual([64, expect.stringContaining('--township is for --role bureau --bureau township')]);
      }
      expect(existsSync(join(tdir, 'db'))).toBe(false); // refused before the database is opened
      // A month whose batch placed a polygon in township 370102001 (its layer's twelve-digit code).
      const store = await openDatabase(join(tdir, 'db'));
      try {
        await migrate(store);
        await writeBatch(store, 'b', '2026-10', [polygon('370102-202610-0001', '2026-10', square(117, 36.6), { townshipCode: '370102001000', townshipName: '王家镇', coBureaus: ['township'] })], '2026-11-02');
      } finally {
        await store.close();
      }
      const li = await town(['user', 'add', 'li', '--role', 'bureau', '--bureau', 'township', '--township', '370102001']);
      expect([li.code, li.stdout, li.stderr]).toEqual([0, 'added li (bureau, bureau township, township 370102001)\n', '']);
      const zhou = await town(['user', 'add', 'zhou', '--role', 'bureau', '--bureau', 'township', '--township', '370102009']);
      expect(zhou.code, zhou.stderr).toBe(0);
      expect(zhou.stderr).toContain('warning: no polygon of township 370102009 is known yet');
      const office = await town(['user', 'add', 'office', '--role', 'bureau', '--bureau', 'township']);
      expect(office.code, office.stderr).toBe(0);
      expect(office.stderr).toContain("warning: office sees every township's polygons in the city; a 乡镇/街道's own account is added with --township <code>");
      const list = await town(['user', 'list']);
      expect(list.stdout.split('\n').filter(Boolean)).toEqual(['li\tbureau\ttownship 370102001\tactive', 'office\tbureau\ttownship\tactive', 'zhou\tbureau\ttownship 370102009\tactive']);
      // tuban serve names the city-wide township accounts as it starts (they keep working).
      const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', ...tdb, '--data', join(tdir, 'data')], { env: { ...process.env, TUBAN_SECRET: undefined } });
      let out = '';
      const exited = new Promise((resolve) => p.on('close', resolve));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 90_000);
        const onData = (d: Buffer) => {
          out += d;
          if (/Server listening at/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        p.stdout.on('data', onData);
        p.stderr.on('data', onData);
      });
      p.kill('SIGTERM');
      await exited;
      expect(out).toContain("township accounts without a township see every 乡镇/街道's polygons in the city: office;");
      expect(out).not.toMatch(/city: [^;]*\bli\b/);
    } finally {
      await rm(tdir, { recursive: true, force: true });
    }
  }, 180_000);

  it("prints each command's own exit codes in its help", async () => {
    const user = await runCli(['user', '--help']);
    expect(user.stdout).toContain('65 refused');
    expect(user.stdout).toContain('USER.NOT_FOUND');
    expect(user.stdout).toContain('tuban user enable <name>');
    expect(user.stdout).toContain('tuban user password <name>');
    const serve = await runCli(['serve', '--help']);
    expect(serve.stdout).toContain('0 stopped by SIGTERM/SIGINT');
    for (const r of [user, serve]) expect(r.stdout).not.toContain('batch completed');
    expect((await runCli(['batch', '--help'])).stdout).toContain('0 batch completed');
  });
});
