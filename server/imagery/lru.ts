/**
 * A least-recently-used map bounded by a total cost (bytes, say) and an entry count.
 * Map iteration order is insertion order, so re-inserting on a hit keeps the oldest first.
 * `onEvict` lets owners release what a value holds (open file handles).
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; cost: number }>();
  private total = 0;

  private readonly maxCost: number;
  private readonly maxEntries: number;
  private readonly onEvict?: (key: K, value: V) => void;

  constructor(maxCost: number, maxEntries = Infinity, onEvict?: (key: K, value: V) => void) {
    this.maxCost = maxCost;
    this.maxEntries = maxEntries;
    this.onEvict = onEvict;
  }

  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  set(key: K, value: V, cost = 1): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.cost;
      this.map.delete(key);
    }
    this.map.set(key, { value, cost });
    this.total += cost;
    // The entry just added is never evicted by itself: one oversized value still serves its caller.
    while ((this.total > this.maxCost || this.map.size > this.maxEntries) && this.map.size > 1) {
      const [k, v] = this.map.entries().next().value!;
      this.map.delete(k);
      this.total -= v.cost;
      this.onEvict?.(k, v.value);
    }
  }

  delete(key: K): void {
    const old = this.map.get(key);
    if (!old) return;
    this.map.delete(key);
    this.total -= old.cost;
    this.onEvict?.(key, old.value);
  }

  clear(): void {
    for (const [k, v] of this.map) this.onEvict?.(k, v.value);
    this.map.clear();
    this.total = 0;
  }

  /** The values, least recently used first (does not touch them). */
  values(): V[] {
    return [...this.map.values()].map((e) => e.value);
  }

  get size(): number {
    return this.map.size;
  }

  get cost(): number {
    return this.total;
  }
}
