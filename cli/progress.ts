/**
 * A one-line progress bar on a terminal; plain log lines (at most one per 5 %) elsewhere,
 * so CI logs and cron mails stay readable.
 */
export interface Progress {
  update(fraction: number, label: string): void;
  done(label: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let lastPct = -1;
  let lastLabel = '';
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  return {
    update(fraction, label) {
      const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
      if (tty) {
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${elapsed().padStart(8)}  ${label.slice(0, 60).padEnd(60)}`);
      } else if (pct >= lastPct + 5 || label !== lastLabel) {
        stream.write(`progress ${pct}% ${elapsed()} ${label}\n`);
        lastPct = pct;
        lastLabel = label;
      }
    },
    done(label) {
      if (tty) stream.write(`\r${' '.repeat(110)}\r`);
      stream.write(`${label} (${elapsed()})\n`);
    },
  };
}
