/**
 * A bounded set of recently seen ids; the oldest is forgotten first. A ring of slots beside a Set keeps `add` O(1):
 * evicting through a Map's `keys().next()` walks the deleted slots V8 leaves at its front, which turned quadratic.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #ring: (string | undefined)[];
  #next = 0;

  constructor(capacity: number) {
    this.#ring = new Array<string | undefined>(Math.max(1, capacity));
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    if (this.#ids.has(id)) return;
    const evicted = this.#ring[this.#next];
    if (evicted !== undefined) this.#ids.delete(evicted);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#ids.add(id);
  }

  clear(): void {
    this.#ids.clear();
    this.#ring.fill(undefined);
    this.#next = 0;
  }

  get size(): number {
    return this.#ids.size;
  }
}
