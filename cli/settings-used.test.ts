/**
 * SETTING_USERS (pipeline/config.ts) says which settings each command reads, so that a bad value
 * stops only those: derived here from the code, so a command that starts reading a setting (or
 * stops) fails this test until the table says so. Each command's code is the module tuban.ts runs
 * it from and everything that module imports (statically, dynamically, or as a worker thread's
 * file), and a read is `config().field`, a `Pick<Config, 'field'>` default or `process.env.NAME`.
 * Commands sharing a module (backup and restore) share its reads: the table's
 * union for them must be the module's, and neither may read outside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTING_FIELDS, SETTING_NAMES, SETTING_USERS, settingsUsedBy, type SettingName } from '../pipeline/config.js';
import { COMMANDS, isCommand } from './commands.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG_MODULE = resolve(root, 'pipeline/config.ts');
const byField = new Map<string, SettingName>(SETTING_NAMES.map((n) => [SETTING_FIELDS[n], n]));

/** The .ts files a module names: its imports (not type-only ones), dynamic imports and `new URL('./x.js')`s. */
function dependencies(file: string): string[] {
  const src = readFileSync(file, 'utf8').replace(/(import|export) type [^;]*;/g, '');
  return [...src.matchAll(/'(\.\.?\/[\w./-]+)\.js'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`)).filter((f) => existsSync(f));
}

/** Every module `entry` may load; config.ts's own imports are its validators, not reads. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    if (f !== CONFIG_MODULE) todo.push(...dependencies(f));
  }
  return seen;
}

/** The settings a module reads; throws on a use of config() it cannot attribute (a new way of reading, for this test to learn). */
function reads(file: string): Set<SettingName> {
  const src = readFileSync(file, 'utf8');
  const out = new Set<SettingName>();
  const field = (name: string, how: string) => {
    const setting = byField.get(name);
    if (!setting) throw new Error(`${relative(root, file)}: ${how} reads '${name}', which is no setting's field`);
    out.add(setting);
  };
  for (const m of src.matchAll(/process\.env\.(\w+)|process\.env\[['"](\w+)['"]\]/g)) {
    const name = m[1] ?? m[2];
    if ((SETTING_NAMES as string[]).includes(name)) out.add(name as SettingName);
  }
  if (file === CONFIG_MODULE) return out;
  for (const m of src.matchAll(/config\(\)(\.(\w+))?/g)) {
    if (m[2]) field(m[2], 'config()');
    else {
      const before = src.slice(Math.max(0, m.index - 200), m.index);
      const named = /const (\w+) = $/.exec(before);
      const picked = /Pick<Config, ([^>]+)> = $/.exec(before);
      if (named) for (const r of src.matchAll(new RegExp(`\\b${named[1]}\\.(\\w+)`, 'g'))) field(r[1], `${named[1]} = config()`);
      else if (picked) for (const r of picked[1].matchAll(/'(\w+)'/g)) field(r[1], 'Pick<Config>');
      else throw new Error(`${relative(root, file)}: a config() this test cannot follow: ${src.slice(m.index - 60, m.index + 40)}`);
    }
  }
  return out;
}

/** command → the module tuban.ts runs it from, read off its dispatch table. */
const tuban = readFileSync(resolve(root, 'cli/tuban.ts'), 'utf8');
const entries = new Map<string, string[]>();
for (const m of tuban.matchAll(/^ {4}(\w+): async \(\) => \(await import\('\.\/([\w-]+)\.js'\)\)/gm)) {
  const file = resolve(root, 'cli', `${m[2]}.ts`);
  entries.set(file, [...(entries.get(file) ?? []), m[1]]);
}

describe('SETTING_USERS', () => {
  it('names only commands, and tuban.ts runs every command from a module', () => {
    for (const commands of Object.values(SETTING_USERS)) for (const c of commands) expect(isCommand(c), c).toBe(true);
    expect([...entries.values()].flat().sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  for (const [file, commands] of entries) {
    it(`gives ${commands.join(' and ')} the settings ${relative(root, file)} and what it loads read`, () => {
      const read = new Set([...closure(file)].flatMap((f) => [...reads(f)]));
      const given = new Set(commands.flatMap((c) => [...settingsUsedBy(c)]));
      expect([...given].sort()).toEqual([...read].sort());
      for (const c of commands) for (const s of settingsUsedBy(c)) expect(read.has(s), `${c} is given ${s}`).toBe(true);
    });
  }

  it('is what this test finds, not a table it agrees with by emptiness: serve reads its secret, batch its tile cap', () => {
    expect(settingsUsedBy('serve')).toContain('TUBAN_SECRET');
    expect(settingsUsedBy('batch')).toContain('TUBAN_MAX_TILE_BYTES');
    expect(settingsUsedBy('backup')).not.toContain('TUBAN_SCORE_WORKERS');
  });
});
