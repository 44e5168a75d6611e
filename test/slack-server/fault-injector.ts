import type { FailNextOptions, FaultStatus, OutageOptions, StormOptions } from './slack-server-types.ts';

export type FaultDecision =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly source: 'failNext' | 'outage' | 'storm';
      /** Explicit Retry-After, or the milliseconds left in the outage/storm to derive one from. */
      readonly retryAfterSeconds?: number;
      readonly remainingMs?: number;
    }
  | { readonly kind: 'reset'; readonly source: 'failNext' }
  | { readonly kind: 'hang'; readonly source: 'failNext' }
  | { readonly kind: 'lose-reply'; readonly source: 'failNext' };

interface PendingFailure {
  remaining: number;
  readonly status: FaultStatus;
  readonly methods?: readonly string[];
  readonly retryAfterSeconds?: number;
}

interface Window {
  readonly until: number;
  readonly status: number;
  readonly methods?: readonly string[];
  readonly retryAfterSeconds?: number;
}

const applies = (methods: readonly string[] | undefined, method: string): boolean =>
  methods === undefined || methods.includes(method);

/** Holds the fault-injection state (queued failures, outage, rate-limit storm, latency). */
export class FaultInjector {
  #queue: PendingFailure[] = [];
  #outage: Window | undefined;
  #storm: Window | undefined;
  #latencyMs = 0;

  get latencyMs(): number {
    return this.#latencyMs;
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be >= 0, got ${ms}`);
    this.#latencyMs = ms;
  }

  failNext(count: number, status: FaultStatus, options: FailNextOptions = {}): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`failNext count must be a positive integer, got ${count}`);
    if (typeof status === 'number' && (status < 100 || status > 599)) throw new RangeError(`bad HTTP status ${status}`);
    const entry: PendingFailure = { remaining: count, status };
    this.#queue.push({
      ...entry,
      ...(options.methods === undefined ? {} : { methods: options.methods }),
      ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    });
  }

  setOutage(options: OutageOptions, now: number): void {
    const until = options.untilMs ?? (options.durationMs === undefined ? Infinity : now + options.durationMs);
    this.#outage = {
      until,
      status: options.status ?? 503,
      ...(options.methods === undefined ? {} : { methods: options.methods }),
      ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    };
  }

  clearOutage(): void {
    this.#outage = undefined;
  }

  rateLimitStorm(durationMs: number, options: StormOptions, now: number): void {
    this.#storm = {
      until: now + durationMs,
      status: 429,
      methods: options.methods ?? ['chat.postMessage', 'chat.update'],
      ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    };
  }

  /** Number of queued failures not yet served. */
  get pendingFailures(): number {
    return this.#queue.reduce((sum, f) => sum + f.remaining, 0);
  }

  /** Decides (and consumes) the fault for a request, if any. Queued failures win over outages, outages over storms. */
  decide(method: string, now: number): FaultDecision | undefined {
    const queued = this.#queue.find((f) => applies(f.methods, method));
    if (queued !== undefined) {
      queued.remaining -= 1;
      if (queued.remaining <= 0) this.#queue = this.#queue.filter((f) => f !== queued);
      if (queued.status === 'reset') return { kind: 'reset', source: 'failNext' };
      if (queued.status === 'hang') return { kind: 'hang', source: 'failNext' };
      if (queued.status === 'lose-reply') return { kind: 'lose-reply', source: 'failNext' };
      return {
        kind: 'status',
        status: queued.status,
        source: 'failNext',
        ...(queued.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: queued.retryAfterSeconds }),
      };
    }
    for (const [source, window] of [['outage', this.#outage], ['storm', this.#storm]] as const) {
      if (window === undefined || now >= window.until || !applies(window.methods, method)) continue;
      return {
        kind: 'status',
        status: window.status,
        source,
        ...(window.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: window.retryAfterSeconds }),
        ...(Number.isFinite(window.until) ? { remainingMs: window.until - now } : {}),
      };
    }
    return undefined;
  }

  /** Removes every fault (latency included). */
  reset(): void {
    this.#queue = [];
    this.#outage = undefined;
    this.#storm = undefined;
    this.#latencyMs = 0;
  }
}
