/** Classic token bucket on an injectable millisecond clock. */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  #tokens: number;
  #updatedAt: number;

  constructor(capacity: number, refillPerSecond: number, now: number) {
    if (!(capacity >= 1)) throw new RangeError(`token bucket capacity must be >= 1, got ${capacity}`);
    if (!(refillPerSecond > 0)) throw new RangeError(`token bucket refill rate must be > 0, got ${refillPerSecond}`);
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.#tokens = capacity;
    this.#updatedAt = now;
  }

  /** Takes one token. Returns 0 on success, otherwise the milliseconds until a token will be available. */
  tryTake(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1 - 1e-9) {
      this.#tokens = Math.max(0, this.#tokens - 1);
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) / this.refillPerSecond) * 1000));
  }

  #refill(now: number): void {
    if (now <= this.#updatedAt) return;
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#updatedAt) / 1000) * this.refillPerSecond);
    this.#updatedAt = now;
  }
}
