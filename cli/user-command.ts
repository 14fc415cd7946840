/**
 * `tuban user add <name> --role … [--bureau id] [--district code] [--db …]` (password on standard
 * input), `tuban user list`, `tuban user disable <name>`. Exit 0 done, 64 usage error, 65 refused
 * input (short password, existing user…), each with the error code on stderr.
 */
import { one, UsageError, type Flags } from './args.js';
import { dbTarget } from './db-target.js';
import { lockOptionsFromFlags } from './db-lock.js';
import { migrate } from '../pipeline/store/migrations.js';
import { openDatabase } from '../pipeline/store/open-database.js';
import { ROLES, type Role } from '../server/access/roles.js';
import { addUser, disableUser, listUsers } from '../server/auth/user-store.js';
import { ApiError } from '../server/errors.js';

/** The password: the first line of standard input (piped), or typed without echo on a terminal. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    return new Promise((resolve, reject) => {
      let pw = '';
      const onData = (ch: string) => {
        for (const c of ch) {
          if (c === '\r' || c === '\n') {
            stdin.setRawMode(false);
            stdin.pause();
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(pw);
            return;
          }
          if (c === '\u0003') {
            stdin.setRawMode(false);
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
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

export async function userCommand(flags: Flags, positional: string[]): Promise<number> {
  const [sub, name] = positional;
  if (!sub || !['add', 'list', 'disable'].includes(sub)) throw new UsageError('tuban user add|list|disable', 'user');
  if (sub !== 'list' && !name) throw new UsageError(`tuban user ${sub} <name>`, 'user');
  let role: Role | undefined;
  if (sub === 'add') {
    const r = one(flags, 'role');
    if (!r || !ROLES.includes(r as Role)) throw new UsageError(`--role must be one of ${ROLES.join('|')}`, 'user');
    role = r as Role;
  }
  const password = sub === 'add' ? await readPassword() : '';
  const db = await openDatabase(dbTarget(flags), { lock: lockOptionsFromFlags(flags) });
  try {
    await migrate(db);
    if (sub === 'add') {
      const u = await addUser(db, { name, role: role!, bureau: one(flags, 'bureau') ?? null, district: one(flags, 'district') ?? null, password });
      process.stdout.write(`added ${u.name} (${u.role}${u.bureau ? `, bureau ${u.bureau}` : ''}${u.district ? `, district ${u.district}` : ''})\n`);
    } else if (sub === 'disable') {
      await disableUser(db, name);
      process.stdout.write(`disabled ${name}\n`);
    } else {
      for (const u of await listUsers(db)) {
        process.stdout.write(`${u.name}\t${u.role}\t${u.bureau ?? u.district ?? '-'}\t${u.disabled ? 'disabled' : 'active'}\n`);
      }
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
