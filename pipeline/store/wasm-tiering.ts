/**
 * How soon V8 recompiles hot WebAssembly with its optimising compiler, for a process that runs one
 * batch and exits.
 *
 * PGlite is Postgres compiled to WebAssembly. V8 runs each of its functions first as baseline
 * (Liftoff) code and, once a function has used up a budget of execution, compiles it again with
 * TurboFan on its background threads. In a batch those compilations cost more than they give:
 * per-thread CPU of a 4096² batch showed V8's background threads at 3.4–3.8 CPU-s of ~12, and
 * with `--liftoff-only` at 2.0 (the Postgres tier-up; Tuban's own kernels are 30 kB). On two cores
 * that time is taken from decoding and scoring. With a budget 100× V8's default only the hottest
 * functions tier up: the batch's user CPU fell 10.8–11.3 → 9.9–10.3 s at 4096² and 41.0–41.5 →
 * 39.7–40.0 s at 10980², with PGlite's own thread and the score workers no slower (BENCHMARKS.md,
 * "Stop 28"). Tuban's scoring kernels still tier up at their first strip: they run for billions
 * of bytes per call.
 *
 * Process-wide and read when a module is instantiated, so it is set before the database opens;
 * only for a batch: a long-running server (`tuban serve`) is better served by optimised Postgres.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's `--wasm-tiering-budget` for a batch: 100× its default (1 800 000). */
export const BATCH_WASM_TIERING_BUDGET = 180_000_000;

export function tierUpWasmForOneBatch(): void {
  setFlagsFromString(`--wasm-tiering-budget=${BATCH_WASM_TIERING_BUDGET}`);
}
