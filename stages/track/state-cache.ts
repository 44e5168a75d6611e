/**
 * The track stage's per-shard memory of evaluation states, forgotten a generation at a time: entries go into a young
 * map; once it holds half the capacity, `rotate()` (between batches) makes it the old map and drops the previous old
 * one whole. So it keeps at least the last capacity/2 keys used and at most `capacity` plus two batches' keys, and a
 * hit costs a lookup and an insert: a Map kept in recency order took a delete and a re-insert per event, and walked
 * deleted slots to evict. Never rotated within a batch, so a key loaded for a batch stays until the batch is applied.
 */
export class StateCache<V extends object | null> {
  readonly #generation: number;
  #young = new Map<string, V>();
  #old = new Map<string, V>();

  constructor(capacity: number) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  has(key: string): boolean {
    return this.#young.has(key) || this.#old.has(key);
  }

  /** The value, or undefined when the key is not cached (so a value is never undefined itself). */
  get(key: string): V | undefined {
    const young = this.#young.get(key);
    // null is a value (nothing stored for the key): only undefined falls through to the old generation.
    return young !== undefined ? young : this.#old.get(key);
  }

  set(key: string, value: V): void {
    this.#young.set(key, value);
  }

  delete(key: string): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }

  /** Between batches: a full young generation becomes the old one, and the old one is forgotten. */
  rotate(): void {
    if (this.#young.size < this.#generation) return;
    this.#old = this.#young;
    this.#young = new Map();
  }

  /** Keys held (a key in both generations counts twice until its old copy is forgotten). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}
