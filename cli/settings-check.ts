/**
 * The environment's settings for one command, checked before it reads any input (a bad
 * TUBAN_MAX_TILE_BYTES once stopped a batch only once its plan, --out and first tile were under way).
 * Only the settings the command uses can stop it (pipeline/config.ts, SETTING_USERS): `tuban serve`,
 * `tuban worker` and the backup cron share one EnvironmentFile, and a worker-only variable mistyped
 * there must not take the server or the backups down with the workers.
 */
import { configureFor, SETTING_NAMES, settingsUsedBy } from '../pipeline/config.js';
import type { Logger } from 'pino';
import { nearest, type CommandName } from './commands.js';

/** One thing a command goes on past: a bad value it does not use (CONFIG.INVALID), or a name that is no setting. */
export interface SettingWarning {
  /** The environment variable. */
  setting: string;
  code?: 'CONFIG.INVALID';
  message: string;
}

/** Throws CONFIG.INVALID for a bad setting `command` uses; returns a warning for each thing it goes on past. */
export function checkSettings(command: CommandName, env: Record<string, string | undefined> = process.env): SettingWarning[] {
  const warnings: SettingWarning[] = configureFor(settingsUsedBy(command)).map(({ name, problem }) => ({ setting: name, code: 'CONFIG.INVALID', message: `${problem} (ignored: tuban ${command} does not use ${name})` }));
  // A misspelt name is otherwise silently unset. Only names near a setting: the test harness's
  // TUBAN_TEST_* and other tools' variables are none of Tuban's business.
  const known: readonly string[] = SETTING_NAMES;
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('TUBAN_') || known.includes(name)) continue;
    const near = settingMeant(name);
    if (near) warnings.push({ setting: name, message: `${name} is not a Tuban setting (did you mean ${near}?); ignored` });
  }
  return warnings;
}

/**
 * The setting a TUBAN_* name that is none plainly means. DATABASE_URL, REDIS_URL and PORT have no
 * prefix (the names other tools read too): TUBAN_DATABASE_URL is one of them with a TUBAN_ too many,
 * not a slip for TUBAN_DATA.
 */
function settingMeant(name: string): string | null {
  const bare = name.slice('TUBAN_'.length);
  const unprefixed = SETTING_NAMES.find((n) => !n.startsWith('TUBAN_') && n === bare);
  return unprefixed ?? nearest(name, SETTING_NAMES);
}

/** The commands that log JSON (serve, worker) log these at warn, so `jq 'select(.level >= 40)'` on their journal shows them. */
export function logSettingWarnings(log: Pick<Logger, 'warn'>, warnings: readonly SettingWarning[]): void {
  for (const { setting, code, message } of warnings) log.warn(code ? { setting, code } : { setting }, message);
}

/** Every other command's: one `tuban: warning:` line each on standard error. */
export function settingWarningLine({ message }: SettingWarning): string {
  return `tuban: warning: ${message}`;
}
