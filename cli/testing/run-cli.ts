/**
 * Runs the built `tuban` CLI as a child process, as a user would, for the end-to-end tests: the exit
 * code and both streams, never a throw (a non-zero exit is what many tests are about).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI; TUBAN_CLI runs the tests against another build (e.g. main's, to see a fix's test fail there). */
export const CLI = process.env.TUBAN_CLI ?? fileURLToPath(new URL('../../dist/cli/tuban.js', import.meta.url));

/**
 * `closed`: streams whose reading end is closed at once, as `tuban … | head -1` leaves them: the
 * CLI's writes there fail with EPIPE (and nothing is captured).
 */
export function runCli(args: readonly string[], opts: { env?: Record<string, string>; stdin?: string; closed?: ('stdout' | 'stderr')[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    for (const name of opts.closed ?? []) child[name].destroy();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}
