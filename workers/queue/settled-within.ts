/**
 * `promise`'s value, or 'late' when it has not settled within `ms`. Late is said one turn of the
 * event loop after the timer, past the poll for I/O: a handler that held the main thread past the
 * deadline (a tile's post-scoring stages do) must not make an answer that arrived meanwhile, such
 * as Redis' PONG, count as none.
 */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => setImmediate(() => resolve('late')), Math.max(0, ms))));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
