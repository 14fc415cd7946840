/**
 * The k-th smallest of n numbers without sorting them: the value `Float64Array.from(a).sort()[k]`
 * gives, in O(n) on average instead of O(n log n). The normalisation fit takes ~20 medians and
 * quantiles of up to 250 000 samples per tile; sorting them was most of its time (issue 16).
 *
 * Exactly the sorted value, so callers' results do not change by a bit: the selection only moves
 * values, and where the data hold what a comparison-based selection orders differently from
 * TypedArray sort (NaN, sorted last there; -0, sorted before +0) it sorts instead.
 */

/** Below this many elements a range is finished by insertion sort. */
const SMALL = 16;

/** The k-th smallest (0-based) of `src[0..n)`; `scratch` (length ≥ n) is overwritten. */
export function kthSmallest(src: ArrayLike<number>, n: number, k: number, scratch: Float64Array = new Float64Array(n)): number {
  if (k < 0 || k >= n) throw new RangeError(`order statistic ${k} of ${n} values`);
  const a = scratch;
  let special = false;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    // NaN, or -0 (1/-0 = -Infinity).
    if (v !== v || (v === 0 && 1 / v < 0)) special = true;
    a[i] = v;
  }
  if (special) return a.subarray(0, n).sort()[k];
  return selectInPlace(a, 0, n - 1, k);
}

/**
 * Median of `src[0..n)` as the sorted copy gives it (mean of the two middle values when n is
 * even; 0 for none). `scratch` (length ≥ n) is overwritten.
 */
export function medianOf(src: ArrayLike<number>, n: number, scratch: Float64Array = new Float64Array(n)): number {
  if (n === 0) return 0;
  if (n % 2) return kthSmallest(src, n, (n - 1) >> 1, scratch);
  const hi = kthSmallest(src, n, n / 2, scratch);
  // After selecting n/2 everything before it is ≤ it, so the largest of those is the (n/2 − 1)-th.
  // (A NaN / -0 input took the sort path: scratch is then sorted and the same holds.)
  let lo = -Infinity;
  for (let i = 0; i < n / 2; i++) if (scratch[i] > lo) lo = scratch[i];
  return (lo + hi) / 2;
}

/**
 * Hoare selection on a[lo..hi] (inclusive): returns a[k] once it holds the value sorting would put
 * there, with everything before it ≤ and everything after it ≥. Median-of-three pivots; after 64
 * rounds (adversarial data) the remaining range is sorted instead.
 */
function selectInPlace(a: Float64Array, lo: number, hi: number, k: number): number {
  let rounds = 0;
  while (hi - lo >= SMALL) {
    if (++rounds > 64) {
      a.subarray(lo, hi + 1).sort();
      return a[k];
    }
    const mid = (lo + hi) >>> 1;
    // Order a[lo], a[mid], a[hi]; the middle one is the pivot.
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const p = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // a[lo..j] ≤ p, a[i..hi] ≥ p, and a[j+1..i-1] = p.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
