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

/** One thread of a process as /proc/<pid>/task/<tid>/stat gives it. */
export interface ThreadStat {
  tid: number;
  /** comm: `node` unless the thread named itself (pipeline/thread-name.ts). */
  name: string;
  /** User + system CPU seconds so far. */
  cpuS: number;
  /** Start time in clock ticks since boot: with the tid, one thread (tids are reused). */
  start: number;
}

/** Parse a /proc/<pid>/task/<tid>/stat line (comm may hold spaces and parentheses); null if it is not one. */
export function parseThreadStat(line: string, clockTicks: number): ThreadStat | null {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const tid = Number(line.slice(0, open).trim());
  // After ") ": field 3 (state) is index 0, so utime (14) is 11, stime (15) 12, starttime (22) 19.
  const f = line.slice(close + 2).split(' ');
  const [utime, stime, start] = [Number(f[11]), Number(f[12]), Number(f[19])];
  if (!Number.isInteger(tid) || ![utime, stime, start].every(Number.isFinite)) return null;
  return { tid, name: line.slice(open + 1, close), cpuS: (utime + stime) / clockTicks, start };
}

/**
 * CPU seconds by thread name over samples of one process's threads (`pid` its main thread): each
 * thread counted once, at its last sample, under the last name it had (a worker is `node` until its
 * module names it). `main` is the process's own thread; unnamed others are V8's and libuv's
 * (compilers, GC, the file-system pool). Sorted by CPU, largest first.
 */
export function cpuByThreadName(samples: ThreadStat[][], pid: number): [string, number][] {
  const last = new Map<string, ThreadStat>();
  for (const sample of samples) for (const t of sample) last.set(`${t.tid}/${t.start}`, t);
  const byName = new Map<string, number>();
  for (const t of last.values()) {
    const name = t.tid === pid ? 'main' : t.name === 'node' ? 'V8 & libuv' : t.name.replace(/^tuban-/, '');
    byName.set(name, (byName.get(name) ?? 0) + t.cpuS);
  }
  return [...byName].sort((a, b) => b[1] - a[1]);
}
