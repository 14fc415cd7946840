/**
 * `tuban user add <name> --role … [--bureau id] [--district code] [--township code] [--db …]` and `tuban user password
 * <name>` (password on standard input), `tuban user list`, `tuban user disable|enable <name>`,
 * `tuban user unthrottle <address>` (forget the failed sign-ins counted against an address).
 * Exit 0 done, 64 usage error (unknown role or bureau, a district code that is not 6 digits, no
 * township code that is not 9 or 12 digits, no password given), 65 refused input (short password, two typed passwords that differ, existing or
 * unknown user…), each with the error code on stderr.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { one, UsageError, type Flags } from './args.js';
import { dbTarget, existingDbTarget } from './db-target.js';
import { isEmbeddedTarget, lockOptionsFromFlags } from './db-lock.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { BUREAU_IDS } from '../schemas/vocabulary.js';
import { ROLES, type Role } from '../server/access/roles.js';
import { addUser, disableUser, districtHasPolygons, enableUser, listUsers, setPassword, TOWNSHIP_CODE_RE, townshipHasPolygons } from '../server/auth/user-store.js';
import { clientOfAddress, SignInThrottle } from '../server/auth/sign-in-throttle.js';
import { ApiError } from '../server/errors.js';

const SUBCOMMANDS = ['add', 'list', 'disable', 'enable', 'password', 'unthrottle'];

/**
 * The password: the first line of standard input (piped), or typed twice without echo on a terminal;
 * null when the two typed differ (typed blind, a slip would lock the user out of the account).
 */
async function readPassword(): Promise<string | null> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    const password = await askHidden('Password: ');
    return (await askHidden('Again: ')) === password ? password : null;
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
  // `< /dev/null`, or a script whose variable was empty: not a password that is too short.
  if (password === '') throw new UsageError('no password given on standard input: pipe it (echo "$PASSWORD" | tuban user …) or run on a terminal to be asked for it', 'user');
  return password;
}

/** One line typed on the terminal without echo; Ctrl-C cancels. */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt: what is typed as soon as it shows is not echoed
  process.stderr.write(prompt);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let pw = '';
    const done = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
    };
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === '\r' || c === '\n') {
          done();
          process.stderr.write('\n');
          resolve(pw);
          return;
        }
        if (c === '\u0003') {
          done();
          reject(new UsageError('cancelled'));
          return;
        }
        if (c === '\u007f') pw = pw.slice(0, -1);
        else pw += c;
      }
    };
    stdin.on('data', onData);
  });
}

/** What `tuban user list` says of a database with no account: which database, and how to add its first. */
function noUsersYet(flags: Flags): string {
  const target = dbTarget(flags);
  // A postgres:// URL may carry a password: never echoed.
  const server = /^postgres(ql)?:\/\//.test(target);
  const where = server ? 'this database' : target;
  const dbFlag = one(flags, 'db') === undefined ? '' : ` --db ${server ? '<url>' : target}`;
  return `tuban user: no users in ${where} yet; add the first (a lead bureau account; the password on standard input, or typed twice) with:\n  tuban user add <name> --role lead${dbFlag}\n`;
}

export async function userCommand(flags: Flags, positional: string[]): Promise<number> {
  const [sub, name] = positional;
  if (!sub || !SUBCOMMANDS.includes(sub)) throw new UsageError(`tuban user ${SUBCOMMANDS.join('|')}`, 'user');
  if (sub !== 'list' && !name) throw new UsageError(`tuban user ${sub} ${sub === 'unthrottle' ? '<address>' : '<name>'}`, 'user');
  // An address as the server counts it: IPv4, or an IPv6 address (or its /64) by its /64. A typo
  // ('203.0.113', a user's name) would clear nothing and say so with exit 0.
  const client = sub === 'unthrottle' ? clientOfAddress(name.replace(/\/64$/, '')) : null;
  if (sub === 'unthrottle' && !client) {
    throw new UsageError(`tuban user unthrottle: '${name}' is not an IP address (203.0.113.9, 2001:db8:40:7::1 or its 2001:db8:40:7::/64)`, 'user');
  }
  let role: Role | undefined;
  let bureau: string | undefined;
  let district: string | undefined;
  let township: string | undefined;
  if (sub === 'add') {
    const r = one(flags, 'role');
    if (!r || !ROLES.includes(r as Role)) throw new UsageError(`--role must be one of ${ROLES.join('|')}`, 'user');
    role = r as Role;
    // Checked here: the database takes any text, and a bureau user with a misspelt bureau sees nothing.
    bureau = one(flags, 'bureau');
    if (bureau !== undefined && !(BUREAU_IDS as readonly string[]).includes(bureau)) throw new UsageError(`--bureau: unknown bureau '${bureau}'; the bureaus are ${BUREAU_IDS.join(', ')}`, 'user');
    district = one(flags, 'district');
    if (district !== undefined && !/^\d{6}$/.test(district)) throw new UsageError(`--district: '${district}' is not a district code (six digits, e.g. 370102)`, 'user');
    // A scope flag on another role would be dropped: say so rather than add a user who sees other than meant.
    if (bureau !== undefined && role !== 'bureau') throw new UsageError(`--bureau is for --role bureau, not ${role}: only a bureau user has a bureau`, 'user');
    if (district !== undefined && role !== 'district') throw new UsageError(`--district is for --role district, not ${role}: only a district user has a district`, 'user');
    township = one(flags, 'township');
    if (township !== undefined && !TOWNSHIP_CODE_RE.test(township)) throw new UsageError(`--township: '${township}' is not a 乡镇/街道 code (nine digits, e.g. 370102001, or twelve ending in 000)`, 'user');
    if (township !== undefined && (role !== 'bureau' || bureau !== 'township')) throw new UsageError(`--township is for --role bureau --bureau township: only a township's own account has a township`, 'user');
  }
  // Only `add` may start a database: list, disable, password … on a typo'd --db (or another folder
  // than the deployment's .tuban/db) made an empty one there and said "no users yet", exit 0.
  const target = sub === 'add' ? dbTarget(flags) : existingDbTarget(flags, 'user', 'tuban batch, tuban serve or tuban user add makes it');
  const password = sub === 'add' || sub === 'password' ? await readPassword() : '';
  if (password === null) {
    process.stderr.write('tuban user: the two passwords differ; nothing was changed\n');
    return 65;
  }
  // Opening makes a database wherever the target points: the right start on a new embedded
  // deployment, but on a PostgreSQL one run without DATABASE_URL (a shell that did not read the
  // service's environment file) the account lands in a new .tuban/db that no server reads.
  const made = isEmbeddedTarget(target) && !existsSync(join(target, 'PG_VERSION'));
  const db = await openDatabase(target, { lock: lockOptionsFromFlags(flags) });
  try {
    await migrate(db);
    if (sub === 'add') {
      const u = await addUser(db, { name, role: role!, bureau: bureau ?? null, district: district ?? null, township: township ?? null, password });
      process.stdout.write(`added ${u.name} (${u.role}${u.bureau ? `, bureau ${u.bureau}` : ''}${u.district ? `, district ${u.district}` : ''}${u.township ? `, township ${u.township}` : ''})\n`);
      if (made) {
        process.stderr.write(
          `tuban user: note: no database was at ${target}: made a new embedded one there for ${u.name}. ` +
            `If tuban serve runs on PostgreSQL, set DATABASE_URL (or --db postgres://…) and add ${u.name} again; this one sees nothing of it\n`,
        );
      }
      if (u.township && !(await townshipHasPolygons(db, u.township))) {
        process.stderr.write(`tuban user: warning: no polygon of township ${u.township} is known yet (no batch has placed one there: no township layer, or another code); check the code if ${u.name} should see some\n`);
      }
      // Allowed (a city-wide township office; accounts from before --township), but rarely meant.
      if (u.bureau === 'township' && !u.township) {
        process.stderr.write(`tuban user: warning: ${u.name} sees every township's polygons in the city; a 乡镇/街道's own account is added with --township <code>\n`);
      }
      // Added all the same: the district's first batch may not have run yet.
      if (u.district && !(await districtHasPolygons(db, u.district))) {
        process.stderr.write(`tuban user: warning: no polygon of district ${u.district} is known yet (no batch has routed one there); check the code if ${u.name} should see some\n`);
      }
    } else if (sub === 'disable') {
      await disableUser(db, name);
      process.stdout.write(`disabled ${name}\n`);
    } else if (sub === 'enable') {
      await enableUser(db, name);
      process.stdout.write(`enabled ${name}\n`);
    } else if (sub === 'unthrottle') {
      const n = await new SignInThrottle(db).clear(client!);
      process.stdout.write(`cleared ${n} failed sign-in(s) counted against ${client}\n`);
      if (n === 0) {
        process.stderr.write(`tuban user: note: no failed sign-in is counted against ${client} now: check the address the server sees (behind a proxy, the client's only with TUBAN_TRUST_PROXY; else the proxy's own)\n`);
      }
    } else if (sub === 'password') {
      await setPassword(db, name, password);
      process.stdout.write(`password of ${name} changed\n`);
      // A new password does not let a disabled account in: say so, or the admin thinks it does.
      if ((await listUsers(db)).find((u) => u.name === name)?.disabled) {
        process.stderr.write(`tuban user: note: ${name} is disabled and still cannot sign in; tuban user enable ${name} lets them\n`);
      }
    } else {
      const users = await listUsers(db);
      for (const u of users) {
        const scope = u.township ? `${u.bureau} ${u.township}` : (u.bureau ?? u.district ?? '-');
        process.stdout.write(`${u.name}\t${u.role}\t${scope}\t${u.disabled ? 'disabled' : 'active'}\n`);
      }
      // Nothing at all left a newcomer guessing (and a mistyped --db looks the same): say so on
      // stderr, where a script counting the rows does not read it, with the command that adds the first.
      if (users.length === 0) process.stderr.write(noUsersYet(flags));
    }
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`tuban user: ${err.code}: ${err.message}\n`);
      return 65;
    }
    throw err;
  } finally {
    await db.close();
  }
}
