/**
 * The systemd units README's "`tuban serve` as a service" gives the city's IT staff stay true to the
 * CLI: every flag of an ExecStart is one its command takes, each exit code a unit keeps from a restart
 * is one the command documents (and 64 is among them), a stop timeout outlasts the command's own
 * bound on stopping (the server's grace period; the worker's wait for its tile, its database and the
 * rest, from the constants in code), and each variable of the EnvironmentFile is a setting Tuban reads.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { STOP_GRACE_MS } from '../server/app.js';
import { DISCONNECT_TIMEOUT_MS, JOB_CLOSE_TIMEOUT_MS, REDIS_PING_TIMEOUT_MS, WORKER_CLOSE_TIMEOUT_MS } from '../workers/queue/start-worker.js';
import { parseFlags } from './args.js';
import { checkFlags, COMMANDS, type CommandName } from './commands.js';
import { DATABASE_CLOSE_TIMEOUT_MS } from './worker-command.js';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### `tuban serve` as a service (systemd)'), readme.indexOf('## Backups'));
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
const setup = blocks.find((b) => b.lang === 'sh')?.text ?? '';

/** The unit's settings, `Key=value` lines of any section (comments dropped). */
function settings(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1], [...(m.get(kv[1]) ?? []), kv[2]]);
  }
  return m;
}

/** ExecStart's words after the CLI's path: the command first. */
function execArgs(s: Map<string, string[]>): string[] {
  const args = (s.get('ExecStart')?.[0] ?? '').split(/\s+/);
  const at = args.indexOf('/opt/tuban/dist/cli/tuban.js');
  return at < 0 ? [] : args.slice(at + 1);
}

/** The unit (an ini block with a [Service]) whose ExecStart runs `tuban <command>`. */
function unitOf(command: CommandName): string {
  return blocks.find((b) => b.lang === 'ini' && b.text.includes('[Service]') && execArgs(settings(b.text))[0] === command)?.text ?? '';
}
const unit = unitOf('serve');

describe('the systemd unit in README', () => {
  const s = settings(unit);
  const one = (key: string) => s.get(key)?.[0];

  it('is there, with its own user, a restart on failure, an EnvironmentFile, a working directory and LimitNOFILE', () => {
    expect(section.length).toBeGreaterThan(0);
    expect(one('User')).toBe('tuban');
    expect(one('Restart')).toBe('on-failure');
    expect(one('EnvironmentFile')).toBe('/etc/tuban/tuban.env');
    expect(one('WorkingDirectory')).toMatch(/^\//);
    expect(Number(one('LimitNOFILE'))).toBeGreaterThan(1024);
  });

  it('starts tuban serve with flags tuban serve takes, --db and --data among them', () => {
    const exec = one('ExecStart') ?? '';
    const args = exec.split(/\s+/);
    expect(args.slice(1, 3)).toEqual(['/opt/tuban/dist/cli/tuban.js', 'serve']);
    const { flags, positional } = parseFlags(execArgs(s).slice(1));
    expect(positional).toEqual([]);
    expect(() => checkFlags('serve', flags)).not.toThrow();
    expect([...flags.keys()]).toEqual(expect.arrayContaining(['db', 'data', 'host', 'port']));
    // A WorkingDirectory does not move relative paths the unit's other lines name: absolute ones only.
    for (const f of ['db', 'data']) expect(flags.get(f)?.[0]).toMatch(/^\//);
  });

  it('keeps from a restart only exit codes tuban serve documents, the usage error (64) among them', () => {
    const codes = (s.get('RestartPreventExitStatus') ?? []).flatMap((v) => v.split(/\s+/)).map(Number);
    expect(codes).toContain(64);
    for (const code of codes) expect(COMMANDS.serve.exits).toMatch(new RegExp(`(^|[\\s,/])${code}\\b`));
    // 75 (DB.LOCKED) is "try again later": the unit restarts it, and README says why.
    expect(codes).not.toContain(75);
    expect(COMMANDS.serve.exits).toContain('75 the embedded database is in use');
  });

  it('waits longer for a stop than the server waits for its requests in flight', () => {
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(STOP_GRACE_MS / 1000 + 5);
    expect(section).toContain(`at most ${STOP_GRACE_MS / 1000} s`);
  });

  it('puts TUBAN_SECRET in a 0600 EnvironmentFile, with only variables Tuban reads', async () => {
    expect(setup).toContain('install -m 600 /dev/null /etc/tuban/tuban.env');
    const config = await readFile(new URL('../pipeline/config.ts', import.meta.url), 'utf8');
    const vars = [...setup.matchAll(/echo ['"]?([A-Z_]+)=/g)].map((m) => m[1]);
    expect(vars).toContain('TUBAN_SECRET');
    for (const v of vars) expect(config, v).toMatch(new RegExp(`^ +${v}: `, 'm'));
  });
});

describe('the tuban worker unit in README', () => {
  const worker = unitOf('worker');
  const s = settings(worker);
  const serve = settings(unit);
  const one = (key: string) => s.get(key)?.[0];

  it('is a template unit (one instance per process), as hardened as the server and reading the same EnvironmentFile', () => {
    expect(worker, 'no ini block whose ExecStart runs tuban worker').not.toBe('');
    expect(worker).toMatch(/^# \/etc\/systemd\/system\/tuban-worker@\.service$/m);
    expect(one('Restart')).toBe('on-failure');
    expect(Number(one('LimitNOFILE'))).toBeGreaterThan(1024);
    for (const key of ['User', 'Group', 'WorkingDirectory', 'EnvironmentFile', 'UMask', 'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'ReadWritePaths', 'PrivateTmp', 'RestartSec']) {
      expect(s.get(key), key).toEqual(serve.get(key));
    }
  });

  it('starts tuban worker with flags tuban worker takes, no --db (its URL holds a password: the EnvironmentFile has it)', () => {
    const args = execArgs(s);
    expect(args[0]).toBe('worker');
    const { flags, positional } = parseFlags(args.slice(1));
    expect(positional).toEqual([]);
    expect(() => checkFlags('worker', flags)).not.toThrow();
    expect(flags.has('db')).toBe(false);
    // Nor --log-level: it would win over TUBAN_LOG_LEVEL in the env file, which a bad value of still stops the worker (64).
    expect(flags.has('log-level')).toBe(false);
    expect(section).toMatch(/DATABASE_URL=postgres:\/\/.*REDIS_URL=redis:\/\//s);
  });

  it('keeps from a restart only exit codes tuban worker documents, the usage error (64) among them', () => {
    const codes = (s.get('RestartPreventExitStatus') ?? []).flatMap((v) => v.split(/\s+/)).map(Number);
    expect(codes).toContain(64);
    for (const code of codes) expect(COMMANDS.worker.exits).toMatch(new RegExp(`(^|[\\s,/])${code}\\b`));
  });

  it('waits longer for a stop than the worker can take: its tile, a PING of Redis, the disconnect, the database, the exit', () => {
    // start-worker.ts's close: the running job (the longer of the two waits, from the signal), one
    // last "does Redis answer?", the disconnect; worker-command.ts's database close; then tuban.ts
    // exits 500 ms after the command returns.
    const boundMs = Math.max(WORKER_CLOSE_TIMEOUT_MS, JOB_CLOSE_TIMEOUT_MS) + REDIS_PING_TIMEOUT_MS + DISCONNECT_TIMEOUT_MS + DATABASE_CLOSE_TIMEOUT_MS + 500;
    expect(boundMs).toBeGreaterThanOrEqual(70_000);
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(boundMs / 1000 + 5);
    expect(section).toContain(`up to ${JOB_CLOSE_TIMEOUT_MS / 1000} s for its tile`);
  });
});
