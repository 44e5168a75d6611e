import type { Clock } from '../../clock/clock.ts';
import type { Sleep } from '../../clock/sleep.ts';

export interface ChannelPacerOptions {
  /** Minimum gap between two calls to one channel. */
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly sleep: Sleep;
}

/**
 * Per-channel pacing: at most one call per interval per channel (Slack allows about one message per second), and
 * Retry-After / backoff pushes a channel's (or every channel's) next slot later. Different channels do not wait
 * for each other.
 */
export class ChannelPacer {
  readonly #options: ChannelPacerOptions;
  readonly #next = new Map<string, number>();
  #everyChannelNext = 0;

  constructor(options: ChannelPacerOptions) {
    this.#options = options;
  }

  /** Waits for the channel's next slot and takes it. */
  async acquire(channel: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const wait = this.waitMs(channel);
      if (wait <= 0) break;
      await this.#options.sleep(wait, signal);
    }
    this.#next.set(channel, this.#options.clock.now() + this.#options.intervalMs);
  }

  /** Milliseconds until the channel may be called again. */
  waitMs(channel: string): number {
    const next = Math.max(this.#next.get(channel) ?? 0, this.#everyChannelNext);
    return next - this.#options.clock.now();
  }

  /** No call to `channel` for `ms` (Retry-After, backoff). */
  defer(channel: string, ms: number): void {
    const until = this.#options.clock.now() + ms;
    if (until > (this.#next.get(channel) ?? 0)) this.#next.set(channel, until);
  }

  /** No call to any channel for `ms` (method-wide rate limits, authentication failures). */
  deferAll(ms: number): void {
    this.#everyChannelNext = Math.max(this.#everyChannelNext, this.#options.clock.now() + ms);
  }
}
