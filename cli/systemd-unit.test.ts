/**
 * The systemd unit README's "`tuban serve` as a service" gives the city's IT staff stays true to the
 * CLI: every flag of its ExecStart is one `tuban serve` takes, each exit code it keeps from a restart
 * is one serve documents (and 64 is among them), its stop timeout outlasts the server's own grace
 * period, and each variable of its EnvironmentFile is a setting Tuban reads.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { STOP_GRACE_MS } from '../server/app.js';
import { parseFlags } from './args.js';
import { checkFlags, COMMANDS } from './commands.js';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### `tuban serve` as a service (systemd)'), readme.indexOf('## Backups'));
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
const unit = blocks.find((b) => b.lang === 'ini' && b.text.includes('[Service]'))?.text ?? '';
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
    const { flags, positional } = parseFlags(args.slice(3));
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
