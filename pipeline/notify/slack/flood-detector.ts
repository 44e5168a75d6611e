export interface FloodPolicy {
  /** More than this many new messages for one channel and rule within the window make a flood. */
  readonly threshold: number;
  readonly windowMs: number;
}

export interface FloodGroupState {
  /** An open digest already stands for this channel and rule. */
  readonly digestOpen: boolean;
  /** Individual messages already posted for this channel and rule within the window. */
  readonly recentIndividual: number;
  /** New findings of this drain for this channel and rule. */
  readonly incoming: number;
}

export type FloodDecision = 'individual' | 'digest';

/**
 * Decides, per channel and rule, whether new findings are posted one by one or folded into a digest. The counts
 * come from Postgres (slack_messages, slack_digests), so the decision holds across restarts and between notifiers;
 * the clock is the caller's, so tests step through windows instantly.
 */
export class FloodDetector {
  readonly #policy: FloodPolicy;

  constructor(policy: FloodPolicy) {
    this.#policy = policy;
  }

  /** Where the window that counts recent individual messages starts. */
  windowStart(now: number): number {
    return now - this.#policy.windowMs;
  }

  /** How long a digest keeps collecting after its latest member. */
  get windowMs(): number {
    return this.#policy.windowMs;
  }

  decide(state: FloodGroupState): FloodDecision {
    if (state.incoming <= 0) return 'individual';
    if (state.digestOpen) return 'digest';
    // Posting all of them would exceed the threshold: the whole incoming group goes to one digest instead.
    return state.recentIndividual + state.incoming > this.#policy.threshold ? 'digest' : 'individual';
  }
}
