import type { Logger } from 'pino';
import type { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import type { Clock } from '../../clock/clock.ts';
import type { DrainCounts } from '../notifier.ts';
import { startClaimHeartbeat } from './claim-heartbeat.ts';
import { ClaimLostError } from './claim-lost-error.ts';
import type { SlackNotifierConfig } from './config.ts';
import type { MessageFormatter, SlackMessage } from './message-format.ts';
import type { NextDue } from './next-due.ts';
import { GoneErrors } from './post-protocol.ts';
import type { SlackPostProtocol } from './post-protocol.ts';
import { byChannel, ChannelConcurrency, runPool } from './run-pool.ts';
import type { DigestRow, SlackDigestStore } from './slack-digest-store.ts';
import type { SlackNotifierHooks } from './slack-notifier-hooks.ts';
import type { WorkspacePause } from './workspace-pause.ts';

export interface DigestFlusherOptions {
  readonly config: SlackNotifierConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: SlackNotifierHooks;
  readonly catalog: RuleCatalog;
  readonly formatter: MessageFormatter;
  readonly digests: SlackDigestStore;
  /** Claim owner, the same as the outbox's. */
  readonly owner: string;
  readonly protocol: SlackPostProtocol;
  readonly pause: WorkspacePause;
  readonly nextDue: NextDue;
}

/**
 * Posts the digests that floods opened (claim before send, like any post) and re-renders the ones whose members
 * changed, at most every `digestUpdateMs` (chat.update is rate limited per workspace).
 */
export class DigestFlusher {
  readonly #o: DigestFlusherOptions;

  constructor(options: DigestFlusherOptions) {
    this.#o = options;
  }

  async flush(signal: AbortSignal, counts: DrainCounts): Promise<void> {
    const { digests, clock, config } = this.#o;
    const due = await digests.digestsDue(clock.now(), config.digestUpdateMs, config.digestsPerDrain);
    if (due.length === 0) return;
    // More may be due than one drain takes.
    if (due.length >= config.digestsPerDrain) this.#o.nextDue.note(clock.now());
    await runPool(byChannel(due), ChannelConcurrency, async (list) => {
      for (const digest of list) {
        if (signal.aborted) return;
        try {
          if (digest.state === 'posted') await this.#update(digest, signal, counts);
          else await this.#post(digest, signal, counts);
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
      }
    });
  }

  async #post(due: DigestRow, signal: AbortSignal, counts: DrainCounts): Promise<void> {
    const { digests, clock, config, owner, logger } = this.#o;
    const { leaseMs } = config;
    const claimed = await digests.claimDigestPost(due.digest_id, owner, clock.now(), leaseMs);
    if (!claimed) return;
    // The claim is taken before rendering and pacing, which can wait out a long Retry-After: it is renewed all along,
    // and checked once more right before the post.
    const stopHeartbeat = startClaimHeartbeat(() => {
      digests.renewDigestClaim(claimed.digest_id, owner, leaseMs).catch((error: unknown) => logger.warn({ err: error }, 'digest claim renewal failed'));
    }, leaseMs);
    const log = { channel: claimed.channel, digestId: claimed.digest_id };
    try {
      await this.#o.hooks.afterDigestClaim?.(claimed.digest_id);
      const message = await this.#render(claimed);
      const outcome = await this.#o.protocol.post(
        {
          channel: claimed.channel,
          marker: `digest:${claimed.digest_id}`,
          threadTs: null,
          message,
          broadcast: false,
          uncertain: claimed.state === 'sending',
          since: new Date(claimed.created_at).getTime() - config.reconcileLookbackMs,
          claims: 1,
          holdsClaim: () => digests.renewDigestClaim(claimed.digest_id, owner, leaseMs),
          posted: async (channelId, ts) => {
            if (!(await digests.completeDigestPost(claimed.digest_id, owner, channelId, ts, claimed.version, clock.now()))) {
              logger.warn(log, 'digest claim lost after posting; the notifier holding it adopts the message by its marker');
            }
          },
        },
        signal,
      );
      if (outcome.result.kind === 'done') {
        counts.digestsPosted++;
        return;
      }
      if (outcome.result.kind === 'pause') this.#o.pause.pause(outcome.result.reason);
      const at = outcome.result.kind === 'retry' ? outcome.result.at : clock.now() + config.backoffMaxMs;
      await digests.retryDigestPost(claimed.digest_id, owner, outcome.uncertain ? 'sending' : 'pending', at);
      this.#o.nextDue.note(at);
      logger.warn({ ...log, result: outcome.result.kind }, 'digest post deferred');
    } catch (error) {
      if (!(error instanceof ClaimLostError)) throw error;
      logger.warn(log, 'digest claim lost to another notifier; not posting');
    } finally {
      stopHeartbeat();
    }
  }

  async #update(due: DigestRow, signal: AbortSignal, counts: DrainCounts): Promise<void> {
    if (!due.ts || !due.channel_id) return;
    const { digests, clock } = this.#o;
    const message = await this.#render(due);
    const result = await this.#o.protocol.update(due.channel, due.channel_id, due.ts, message, 1, signal);
    if (result.kind === 'done') {
      await digests.markDigestRendered(due.digest_id, due.version, clock.now());
      counts.digestsUpdated++;
      return;
    }
    if (result.kind === 'pause') this.#o.pause.pause(result.reason);
    if (result.kind === 'reject' && GoneErrors.has(result.reason)) {
      // Someone deleted the digest: stop trying to edit it.
      await digests.markDigestRendered(due.digest_id, due.version, clock.now());
      return;
    }
    await digests.postponeDigestUpdate(due.digest_id, clock.now());
    this.#o.nextDue.note(clock.now() + this.#o.config.digestUpdateMs);
  }

  async #render(digest: DigestRow): Promise<SlackMessage> {
    const { ruleTitle, severity, ...tally } = await this.#o.digests.digestSummary(digest.digest_id);
    const rule = this.#o.catalog.lookup(digest.rule).rule;
    return this.#o.formatter.digest({
      ...tally,
      kind: digest.kind,
      rule: digest.rule,
      ruleTitle: ruleTitle ?? rule.title,
      severity: severity ?? rule.severity,
      startedAt: new Date(digest.started_at).getTime(),
      updatedAt: this.#o.clock.now(),
    });
  }
}
