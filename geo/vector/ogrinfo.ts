/**
 * GDAL's `ogrinfo` as an independent reader for tests of our writers (Debian `gdal-bin`, installed by
 * `.ci/run`). `ogrinfoMissing()` says why the read-back cannot run here; under CI=true a missing
 * ogrinfo is a failure, not a skip, so the check never silently disappears from CI.
 */
import { execFileSync } from 'node:child_process';

let cached: string | null | undefined;

/** null when ogrinfo runs; else the reason it does not. */
export function ogrinfoMissing(): string | null {
  if (cached !== undefined) return cached;
  try {
    execFileSync('ogrinfo', ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cached = null;
  } catch (err) {
    cached = `ogrinfo not runnable (${(err as Error).message.split('\n')[0]}); install Debian's gdal-bin`;
  }
  return cached;
}

/** ogrinfo's text output for `args` (read-only), UTF-8. */
export function ogrinfo(...args: string[]): string {
  return execFileSync('ogrinfo', ['-ro', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}
