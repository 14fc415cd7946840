/**
 * The "did you mean" of a TUBAN_* name that is no setting: the setting the user plainly meant, or
 * nothing. A prefix of a setting's name once sent TUBAN_DATABASE_URL to TUBAN_DATA (the URL then
 * unset, the hint pointing away from it), and DATABASE_URL, REDIS_URL and PORT, which have no
 * TUBAN_ prefix, were never suggested.
 */
import { describe, expect, it } from 'vitest';
import { checkSettings } from './settings-check.js';

/** The hint checkSettings gives `name` ('' for a warning without one), or null for no warning. */
function hint(name: string): string | null {
  const line = checkSettings('migrate', { [name]: '1' }).find((w) => w.setting === name)?.message;
  if (line === undefined) return null;
  return /did you mean (\w+)\?/.exec(line)?.[1] ?? '';
}

describe('a TUBAN_* name that is no setting', () => {
  it('is pointed at the unprefixed setting it names: DATABASE_URL, REDIS_URL, PORT', () => {
    expect(hint('TUBAN_DATABASE_URL')).toBe('DATABASE_URL');
    expect(hint('TUBAN_REDIS_URL')).toBe('REDIS_URL');
    expect(hint('TUBAN_PORT')).toBe('PORT');
  });
  it('still gets the near setting for a short slip', () => {
    expect(hint('TUBAN_DATA_DIR')).toBe('TUBAN_DATA');
    expect(hint('TUBAN_SCORE_WORKER')).toBe('TUBAN_SCORE_WORKERS');
    expect(hint('TUBAN_LOGLEVEL')).toBe('TUBAN_LOG_LEVEL');
  });
  it('is not sent to a setting its name merely starts with, when the rest is a word of its own', () => {
    // TUBAN_SECRET_FILE=/run/secrets/x: "did you mean TUBAN_SECRET?" would have the path become the secret.
    expect(hint('TUBAN_SECRET_FILE')).toBeNull();
    expect(hint('TUBAN_DATA_DIRECTORY')).toBeNull();
    expect(hint('TUBAN_TEST_PG_PORT')).toBeNull();
  });
});
