import type { Logger } from 'pino';
import type { Clock } from '../../clock/clock.ts';
import type { ChannelPacer } from './channel-pacer.ts';

/** Slack refused the token or the app: every call would fail the same way, so nothing is sent for a while. */
export class WorkspacePause {
  readonly #clock: Clock;
  readonly #pacer: ChannelPacer;
  readonly #pauseMs: number;
  readonly #logger: Logger;
  #until = 0;

  constructor(options: { readonly clock: Clock; readonly pacer: ChannelPacer; readonly pauseMs: number; readonly logger: Logger }) {
    this.#clock = options.clock;
    this.#pacer = options.pacer;
    this.#pauseMs = options.pauseMs;
    this.#logger = options.logger;
  }

  /** Until when nothing is sent (on the notifier's clock); in the past when not paused. */
  get until(): number {
    return this.#until;
  }

  get active(): boolean {
    return this.#clock.now() < this.#until;
  }

  pause(reason: string): void {
    const until = this.#clock.now() + this.#pauseMs;
    if (until <= this.#until) return;
    this.#until = until;
    this.#pacer.deferAll(this.#pauseMs);
    this.#logger.error({ reason, pauseMs: this.#pauseMs }, 'slack refused the token or app; notifications paused, none dropped');
  }
}
