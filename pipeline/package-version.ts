/**
 * A package's version from its package.json, found by walking up from a folder inside it (a
 * resolved entry point, or a module's own folder: `src/` and `dist/` lie at different depths).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version of package `name` in the first package.json named so at or above `from` (at most `levels` up); 'unknown' if none. */
export function packageVersionFrom(from: string, name: string, levels: number): string {
  let dir = from;
  for (let i = 0; i < levels; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // keep walking
    }
  }
  return 'unknown';
}
