/** A FIFO with a capacity: `push` waits while full, which is how a fast reader is held back by slow sinks. */
export class BoundedQueue<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #waitingForRoom: (() => void)[] = [];
  #waitingForItem: (() => void)[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  async push(item: T, signal: AbortSignal): Promise<void> {
    while (this.#items.length >= this.#capacity) await this.#wait(this.#waitingForRoom, signal);
    this.#items.push(item);
    this.#wake('item');
  }

  /** Resolves once `push` would not wait (for a single producer, it stays so until it pushes). */
  async waitForRoom(signal: AbortSignal): Promise<void> {
    while (this.#items.length >= this.#capacity) await this.#wait(this.#waitingForRoom, signal);
  }

  async shift(signal: AbortSignal): Promise<T> {
    while (this.#items.length === 0) await this.#wait(this.#waitingForItem, signal);
    const item = this.#items.shift() as T;
    this.#wake('room');
    return item;
  }

  get size(): number {
    return this.#items.length;
  }

  #wake(what: 'item' | 'room'): void {
    const waiters = what === 'item' ? this.#waitingForItem : this.#waitingForRoom;
    if (what === 'item') this.#waitingForItem = [];
    else this.#waitingForRoom = [];
    for (const wake of waiters) wake();
  }

  #wait(waiters: (() => void)[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
