/**
 * A new embedded database on a disk that is full (here a small tmpfs, mounted where the test runs as
 * root with the right to mount; skipped, with the reason, elsewhere): the open fails with Node's
 * ENOSPC naming the directory (the CLI prints it as one line, exit 1), not PGlite's bare
 * `ErrnoError` object (`tuban: [object Object]`); the half-made directory is removed, so the next
 * try (here on the database thread) meets the same clear error, not a directory it cannot start; and the template cache, which is not at fault, is kept.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemplate } from './database-template.js';
import { openDatabase } from './open-database.js';

let dir: string;
let small: string;
let mounted = false;
let why = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-full-disk-'));
  small = join(dir, 'small');
  await mkdir(small);
  if (process.getuid?.() !== 0) {
    why = 'not root';
    return;
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    why = `cannot mount a tmpfs: ${(err as Error).message}`;
  }
});

afterAll(async () => {
  if (mounted) execFileSync('umount', ['-l', small], { stdio: 'pipe' });
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a new embedded database on a full disk', () => {
  it('fails with ENOSPC naming the directory, leaves nothing half made and keeps the template', async (ctx) => {
    if (!mounted) {
      ctx.skip(why);
      return;
    }
    const cache = join(dir, 'cache');
    const seed = await openDatabase(join(dir, 'seed'), { templateCache: cache });
    await seed.close();
    const template = await findTemplate(cache);
    expect(template).not.toBeNull();

    const target = join(small, 'db');
    // The template copied (the copy is what fails), on the database thread too, and PGlite's own
    // initdb with no template (PGlite's ErrnoError).
    for (const [thread, templateCache] of [[false, cache], [true, cache], [false, null]] as const) {
      const lines: string[] = [];
      const err = await openDatabase(target, { templateCache, thread, log: (level, m) => lines.push(`${level}: ${m}`) }).then(
        async (db) => {
          await db.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err, `thread ${thread}`).toBeInstanceOf(Error);
      expect((err as NodeJS.ErrnoException).code, `thread ${thread}`).toBe('ENOSPC');
      expect((err as Error).message).toContain(target);
      expect((err as Error).message).toContain('no space left on device');
      expect(existsSync(target), `thread ${thread}`).toBe(false);
      expect(existsSync(template!.dir), `thread ${thread}: ${lines.join(' | ')}`).toBe(true);
    }

  }, 300_000);
});
