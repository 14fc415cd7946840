/** Pure helpers of the bench scripts (kept apart so they can be tested without running a benchmark). */

/** Value of `--name` on the command line, else `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export interface RunResult {
  wallS: number;
  peakRssGiB: number;
  ok: boolean;
  stages?: Record<string, number>;
  megapixelsPerSecond?: Record<string, number>;
  polygons?: number;
  error?: string;
}

export interface ToolSummary {
  runs: RunResult[];
  /** Medians over successful runs. */
  wallS: number | null;
  peakRssGiB: number | null;
  eval?: unknown;
}

/** Parse `/usr/bin/time -v` output: elapsed wall seconds and peak RSS in GiB. */
export function parseTimeV(text: string): { wallS: number; peakRssGiB: number } | null {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  const el = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(text);
  if (!rss || !el) return null;
  const wallS = el[1].split(':').map(Number).reduce((acc, v) => acc * 60 + v, 0);
  return { wallS, peakRssGiB: Number(rss[1]) / 1024 ** 2 };
}

export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The line of a failed command's stderr that says what went wrong (an Error line, else the last lines). */
export function errorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Command exited|^Command terminated/.test(l) && !/^\s*(User|System|Percent|Elapsed|Average|Maximum|Major|Minor|Voluntary|Involuntary|Swaps|File system|Socket|Signals|Page size|Exit status)/.test(l));
  const err = lines.find((l) => /Error|error:|Traceback|FAILED/.test(l));
  return err ?? lines.slice(-2).join(' | ');
}
