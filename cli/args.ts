import { resolve } from 'node:path';
import { LOG_LEVELS } from '../pipeline/config.js';

/**
 * Command-line flags in the GIS tools' style: `--zones a.geojson b.gpkg` takes every value up
 * to the next flag, `--bands blue,green,red,nir` splits on commas, `--flag=value` works too.
 */
export type Flags = Map<string, string[]>;

export function parseFlags(argv: string[]): { flags: Flags; positional: string[] } {
  const flags: Flags = new Map();
  const positional: string[] = [];
  let current: string[] | null = null;
  for (const arg of argv) {
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq > 0 ? eq : undefined);
      current = flags.get(name) ?? [];
      flags.set(name, current);
      if (eq > 0) {
        current.push(arg.slice(eq + 1));
        current = null;
      }
    } else if (current) {
      current.push(arg);
    } else {
      positional.push(arg);
    }
  }
  return { flags, positional };
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The subcommand whose usage to print after the message (all of them when absent). */
  readonly command?: string;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** `--log-level`, checked: a typo is a usage error naming the levels, not pino's stack trace. */
export function logLevel(flags: Flags, command: string, fallback: (typeof LOG_LEVELS)[number]): (typeof LOG_LEVELS)[number] {
  const level = one(flags, 'log-level') ?? fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`, command);
  return level as (typeof LOG_LEVELS)[number];
}

/**
 * A configuration file named by a flag (`--deadlines`, `--calendar`, `--rules`) that cannot be read or
 * is invalid: exit 64 like a usage error, but one line naming the file and the problem, without the
 * usage text (the flags were right; the file is not).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const ERRNO_PROBLEM: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a folder on its path is a file)',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
};

/** `--<flag> <path>: <problem>` from what loading the file threw: a system error in words, else its message's first line without the path it may start with. */
export function configFileError(flag: string, path: string, err: unknown): ConfigError {
  const errno = [err, (err as { cause?: unknown } | null)?.cause].map((e) => (e as NodeJS.ErrnoException | null)?.code).find((c) => c !== undefined && Object.hasOwn(ERRNO_PROBLEM, c));
  let problem = errno ? ERRNO_PROBLEM[errno] : (err instanceof Error ? err.message : String(err)).split('\n')[0].trim().replace(/:$/, ''); // a YAML error's code frame follows its first line
  for (const p of [path, resolve(path)]) if (problem.startsWith(`${p}: `)) problem = problem.slice(p.length + 2);
  return new ConfigError(`--${flag} ${path}: ${problem}`);
}

/** Runs `load`, turning whatever it throws into a ConfigError naming `--<flag> <path>`. */
export async function loadConfigFile<T>(flag: string, path: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw configFileError(flag, path, err);
  }
}

export function one(flags: Flags, name: string, fallback?: string): string | undefined {
  const v = flags.get(name);
  if (!v || v.length === 0) return fallback;
  if (v.length > 1) throw new UsageError(`--${name} takes one value, got ${v.length}`);
  return v[0];
}

export function many(flags: Flags, name: string): string[] {
  return (flags.get(name) ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Files may contain commas; only split lists that are known to be names. */
export function paths(flags: Flags, name: string): string[] {
  return flags.get(name) ?? [];
}

export function bool(flags: Flags, name: string): boolean {
  const v = flags.get(name);
  return v !== undefined && (v.length === 0 || !/^(false|0|no)$/i.test(v[0]));
}
