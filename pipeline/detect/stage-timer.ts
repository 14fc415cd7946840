/** Seconds per detector stage, summed over the calls that name the same stage. */
export class StageTimer {
  readonly timings: Record<string, number> = {};

  async time<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + (performance.now() - t0) / 1000;
    }
  }
}
