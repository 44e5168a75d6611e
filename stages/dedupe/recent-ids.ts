/**
 * A bounded set of recently seen ids, forgotten a generation at a time: ids go into a young set; when it holds half
 * the capacity it becomes the old set and the previous old one is dropped whole. So it remembers at least the last
 * capacity/2 ids and at most `capacity`, and `add` is one Set insert: a ring with a delete per add cost dedupe a
 * third of its time, and evicting through a Map's `keys().next()` walked the deleted slots V8 leaves at its front.
 */
export class RecentIds {
  readonly #generation: number;
  #young = new Set<string>();
  #old = new Set<string>();

  constructor(capacity: number) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  has(id: string): boolean {
    return this.#young.has(id) || this.#old.has(id);
  }

  add(id: string): void {
    if (this.#young.has(id)) return;
    this.#young.add(id);
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Set();
    }
  }

  clear(): void {
    this.#young = new Set();
    this.#old = new Set();
  }

  /** Ids remembered (an id in both generations counts twice: the old copy goes with its generation). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}
