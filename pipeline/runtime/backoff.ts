/** Exponential backoff bounds: the first retry waits up to `baseMs`, each next one up to twice as long, capped at `maxMs`. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * Full jitter: a delay drawn uniformly from [0, min(maxMs, baseMs * 2^(attempt - 1))]. Of the usual schemes it spreads
 * competing retriers best (many shards or notifiers hitting one recovering service), at the price of sometimes
 * retrying at once. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(random() * ceiling);
}

/** A retry loop's backoff: `next()` after each failure, `reset()` after a success, so one bad spell is not remembered. */
export class Backoff {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #attempt = 0;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs)) throw new RangeError(`backoff needs 0 < baseMs <= maxMs, got ${policy.baseMs} and ${policy.maxMs}`);
    this.#policy = policy;
    this.#random = random;
  }

  /** Failures since the last success. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next try. */
  next(): number {
    this.#attempt++;
    return backoffDelay(this.#attempt, this.#policy, this.#random);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
