import type { Logger } from 'pino';
import type { Clock } from '../../clock/clock.ts';
import { backoffDelay } from '../../runtime/backoff.ts';
import type { BackoffPolicy } from '../../runtime/backoff.ts';
import type { ChannelPacer } from './channel-pacer.ts';
import { ClaimLostError } from './claim-lost-error.ts';
import type { SlackNotifierConfig } from './config.ts';
import type { SlackMessage } from './message-format.ts';
import { decideRetry, describeOutcome, outcomeOf } from './retry.ts';
import type { RetryDecision } from './retry.ts';
import type { SlackApi } from './slack-api.ts';
import type { SlackMessageStore } from './slack-message-store.ts';

/** How one Slack step (post or edit) ended in this drain. */
export type StepResult =
  | { readonly kind: 'done'; readonly posted?: boolean; readonly updated?: boolean }
  | { readonly kind: 'reject'; readonly reason: string }
  | { readonly kind: 'retry'; readonly at: number; readonly reason: string }
  | { readonly kind: 'pause'; readonly reason: string };

/** Updates of a message that is gone (deleted by a person, channel archived): nothing left to edit. */
export const GoneErrors: ReadonlySet<string> = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'is_archived', 'channel_not_found']);

/** One message to post under claim-before-send. */
export interface PostRequest {
  readonly channel: string;
  /** Stored in the message's metadata: how an unrecorded post is found again. */
  readonly marker: string;
  readonly threadTs: string | null;
  readonly message: SlackMessage;
  readonly broadcast: boolean;
  /** An earlier attempt may have landed: look for the marker before posting. */
  readonly uncertain: boolean;
  /** Where to start looking (epoch ms). */
  readonly since: number;
  /** How often the work was claimed: scales the backoff when giving up for now. */
  readonly claims: number;
  readonly posted: (channelId: string, ts: string, adopted: boolean) => Promise<void>;
  /** Checked (and renewed) right before the post, after pacing: throws ClaimLostError when it says false. */
  readonly holdsClaim?: () => Promise<boolean>;
}

export interface SlackPostProtocolOptions {
  readonly config: SlackNotifierConfig;
  readonly api: SlackApi;
  readonly messages: SlackMessageStore;
  readonly pacer: ChannelPacer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

type CallResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly decision: RetryDecision; readonly reason: string };

/**
 * Paced Slack calls with inline retries, and the post/reconcile protocol: while a post is uncertain (an earlier
 * attempt may have landed), the message is looked for by its marker and adopted if found, before posting again.
 */
export class SlackPostProtocol {
  readonly #config: SlackNotifierConfig;
  readonly #api: SlackApi;
  readonly #messages: SlackMessageStore;
  readonly #pacer: ChannelPacer;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;

  constructor(options: SlackPostProtocolOptions) {
    this.#config = options.config;
    this.#api = options.api;
    this.#messages = options.messages;
    this.#pacer = options.pacer;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#random = options.random;
    this.#backoff = { baseMs: options.config.backoffBaseMs, maxMs: options.config.backoffMaxMs };
  }

  /** Posts with reconciliation; says whether Slack may hold a copy when it gives up. */
  async post(p: PostRequest, signal: AbortSignal): Promise<{ readonly result: StepResult; readonly uncertain: boolean }> {
    let uncertain = p.uncertain;
    let reason = 'unknown';
    for (let attempt = 1; attempt <= this.#config.inlineAttempts; attempt++) {
      if (uncertain) {
        const known = (await this.#messages.knownChannelIds([p.channel])).get(p.channel);
        const lookup = await this.#call(p.channel, signal, () => this.#api.findByMarker(known ?? p.channel, p.marker, { threadTs: p.threadTs, oldestMs: p.since }));
        if (lookup.ok) {
          if (lookup.value) {
            await p.posted(known ?? p.channel, lookup.value.ts, true);
            this.#logger.info({ channel: p.channel, marker: p.marker }, 'adopted a message posted before a crash');
            return { result: { kind: 'done' }, uncertain: false };
          }
          uncertain = false;
        } else if (lookup.decision.action === 'reject') {
          // The channel cannot be searched (real Slack wants a channel id): post, accepting the small duplicate risk.
          this.#logger.warn({ channel: p.channel, reason: lookup.decision.reason }, 'cannot search channel for an unrecorded post');
          uncertain = false;
        } else {
          reason = `lookup: ${lookup.reason}`;
          const wait = this.#waitOrGiveUp(p.channel, lookup.decision, attempt, p.claims, reason);
          if (wait) return { result: wait, uncertain };
          continue;
        }
      }
      const res = await this.#call(p.channel, signal, async () => {
        if (p.holdsClaim && !(await p.holdsClaim())) throw new ClaimLostError(p.marker);
        return this.#api.post({ channel: p.channel, message: p.message, threadTs: p.threadTs, broadcast: p.broadcast, marker: p.marker });
      });
      if (res.ok) {
        await p.posted(res.value.channelId, res.value.ts, false);
        return { result: { kind: 'done', posted: true }, uncertain: false };
      }
      reason = res.reason;
      if (res.decision.action === 'backoff' && res.decision.maybeDelivered) uncertain = true;
      if (res.decision.action === 'reject') return { result: { kind: 'reject', reason }, uncertain };
      const wait = this.#waitOrGiveUp(p.channel, res.decision, attempt, p.claims, reason);
      if (wait) return { result: wait, uncertain };
    }
    return { result: this.#giveUp(p.claims, reason), uncertain };
  }

  /** chat.update with inline retries (an edit is idempotent: no reconciliation needed). */
  async update(channel: string, channelId: string, ts: string, message: SlackMessage, claims: number, signal: AbortSignal): Promise<StepResult> {
    let reason = 'unknown';
    for (let attempt = 1; attempt <= this.#config.inlineAttempts; attempt++) {
      const res = await this.#call(channel, signal, () => this.#api.update(channelId, ts, message));
      if (res.ok) return { kind: 'done', updated: true };
      reason = res.reason;
      if (res.decision.action === 'reject') return { kind: 'reject', reason };
      const wait = this.#waitOrGiveUp(channel, res.decision, attempt, claims, reason);
      if (wait) return wait;
    }
    return this.#giveUp(claims, reason);
  }

  /** Schedules the wait for the next inline attempt, or says to give up for this drain. */
  #waitOrGiveUp(channel: string, decision: RetryDecision, attempt: number, claims: number, reason: string): StepResult | null {
    switch (decision.action) {
      case 'pause':
        return { kind: 'pause', reason };
      case 'retry-after':
        this.#pacer.defer(channel, decision.delayMs);
        if (decision.delayMs > this.#config.maxInlineWaitMs || attempt >= this.#config.inlineAttempts) {
          return { kind: 'retry', at: this.#clock.now() + decision.delayMs, reason };
        }
        return null;
      case 'backoff':
        if (attempt >= this.#config.inlineAttempts) return this.#giveUp(claims, reason);
        this.#pacer.defer(channel, backoffDelay(attempt, this.#backoff, this.#random));
        return null;
      default:
        return null;
    }
  }

  #giveUp(claims: number, reason: string): StepResult {
    return { kind: 'retry', at: this.#clock.now() + backoffDelay(claims, this.#backoff, this.#random), reason };
  }

  /** One paced Slack call; errors become a retry decision (abort errors and a lost claim propagate). */
  async #call<T>(channel: string, signal: AbortSignal, fn: () => Promise<T>): Promise<CallResult<T>> {
    await this.#pacer.acquire(channel, signal);
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      if (error instanceof ClaimLostError) throw error;
      const outcome = outcomeOf(error);
      return { ok: false, decision: decideRetry(outcome), reason: describeOutcome(outcome) };
    }
  }
}
