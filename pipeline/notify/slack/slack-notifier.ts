import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import type { Clock } from '../../clock/clock.ts';
import { SystemClock } from '../../clock/clock.ts';
import { systemSleep } from '../../clock/sleep.ts';
import type { Sleep } from '../../clock/sleep.ts';
import { Backoff } from '../../runtime/backoff.ts';
import { defaultWorkerId } from '../../runtime/worker-id.ts';
import type { Database } from '../../store/database-schema.ts';
import { runDrainLoop } from '../drain-loop.ts';
import type { DrainWakeup } from '../drain-loop.ts';
import { EmptyDrainSummary } from '../notifier.ts';
import type { DrainCounts, DrainSummary, Notifier } from '../notifier.ts';
import { OutboxStore } from '../outbox-store.ts';
import { ChannelPacer } from './channel-pacer.ts';
import type { SlackNotifierConfig } from './config.ts';
import { DeliveryPlanner } from './delivery-planner.ts';
import { DigestFlusher } from './digest-flusher.ts';
import { FloodDetector } from './flood-detector.ts';
import { SlackHealthcheckError, slackHealthcheck } from './healthcheck.ts';
import { IntentDelivery } from './intent-delivery.ts';
import { MessageFormatter } from './message-format.ts';
import { NextDue } from './next-due.ts';
import { SlackPostProtocol } from './post-protocol.ts';
import { SlackApi } from './slack-api.ts';
import { SlackDigestStore } from './slack-digest-store.ts';
import { SlackMessageStore } from './slack-message-store.ts';
import type { SlackNotifierHooks } from './slack-notifier-hooks.ts';
import { WorkspacePause } from './workspace-pause.ts';

export interface SlackNotifierOptions {
  readonly config: SlackNotifierConfig;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly catalog: RuleCatalog;
  /** Defaults to a WebClient built from the config (token, SLACK_API_URL). */
  readonly api?: SlackApi;
  readonly clock?: Clock;
  /** How to wait (pacing, Retry-After, backoff); tests pass one that moves a manual clock. */
  readonly sleep?: Sleep;
  /** Claim owner; defaults to host-pid-random (see defaultWorkerId). */
  readonly owner?: string;
  readonly hooks?: SlackNotifierHooks;
  readonly random?: () => number;
  /** Wakes the idle loop when intents are committed (the poll interval is then only a fallback). */
  readonly wakeup?: DrainWakeup;
}

/**
 * The Slack sink of the outbox: claims intents, posts/edits messages with per-channel pacing, and settles each
 * intent only after Slack confirmed. Posting follows claim-before-send: a delivery row says "sending" before
 * chat.postMessage and gets the ts after; a row found still "sending" is looked up in Slack by its metadata
 * marker before anything is posted again. See docs/slack.md for the remaining window.
 *
 * This class is the drain: intent delivery, the post protocol and digests each live in their own file.
 */
export class SlackNotifier implements Notifier {
  readonly name = 'slack-notifier';
  readonly #config: SlackNotifierConfig;
  readonly #logger: Logger;
  readonly #api: SlackApi;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #wakeup: DrainWakeup | undefined;
  readonly #outbox: OutboxStore;
  readonly #pause: WorkspacePause;
  readonly #intents: IntentDelivery;
  readonly #digests: DigestFlusher;
  readonly #nextDue = new NextDue();
  #initialized = false;

  constructor(options: SlackNotifierOptions) {
    const config = options.config;
    const logger = options.logger.child({ sink: 'slack' });
    const clock = options.clock ?? new SystemClock();
    const hooks = options.hooks ?? {};
    this.#config = config;
    this.#logger = logger;
    this.#api = options.api ?? SlackApi.create(config, logger);
    this.#clock = clock;
    this.#sleep = options.sleep ?? systemSleep;
    this.#random = options.random ?? Math.random;
    this.#wakeup = options.wakeup;
    this.#outbox = new OutboxStore(options.db, options.owner ?? `${defaultWorkerId()}-slack`);
    const messages = new SlackMessageStore(options.db);
    const digests = new SlackDigestStore(options.db);
    const formatter = new MessageFormatter({ catalog: options.catalog, ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}) });
    const pacer = new ChannelPacer({ intervalMs: config.channelIntervalMs, clock, sleep: this.#sleep });
    this.#pause = new WorkspacePause({ clock, pacer, pauseMs: config.authPauseMs, logger });
    const protocol = new SlackPostProtocol({ config, api: this.#api, messages, pacer, clock, logger, random: this.#random });
    this.#intents = new IntentDelivery({
      config,
      db: options.db,
      logger,
      clock,
      hooks,
      outbox: this.#outbox,
      messages,
      digests,
      planner: new DeliveryPlanner(config, formatter),
      flood: new FloodDetector({ threshold: config.floodThreshold, windowMs: config.floodWindowMs }),
      protocol,
      pause: this.#pause,
      nextDue: this.#nextDue,
    });
    this.#digests = new DigestFlusher({ config, logger, clock, hooks, catalog: options.catalog, formatter, digests, owner: this.#outbox.owner, protocol, pause: this.#pause, nextDue: this.#nextDue });
  }

  /** auth.test. A refused token fails fast; an unreachable Slack only warns (intents wait in the outbox). */
  async init(): Promise<void> {
    this.#initialized = true;
    try {
      const who = await slackHealthcheck(this.#api);
      this.#logger.info({ team: who.team, user: who.user }, 'slack notifier ready');
    } catch (error) {
      if (error instanceof SlackHealthcheckError && !error.retriable) throw error;
      this.#logger.warn({ reason: error instanceof Error ? error.message : 'unknown' }, 'slack not reachable yet; notifications wait in the outbox');
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!this.#initialized) {
      // As a background service of `driftwatch run`: a bad token is logged (drains then pause), never fatal here.
      await this.init().catch((error: unknown) => this.#logger.error({ reason: error instanceof Error ? error.message : 'unknown' }, 'slack healthcheck failed'));
    }
    await runDrainLoop((s) => this.drainOnce(s), signal, {
      logger: this.#logger,
      clock: this.#clock,
      sleep: this.#sleep,
      pollIntervalMs: this.#config.pollIntervalMs,
      backoff: new Backoff({ baseMs: this.#config.backoffBaseMs, maxMs: this.#config.backoffMaxMs }, this.#random),
      pausedUntil: () => this.#pause.until,
      nextDueAt: () => this.#nextDue.at,
      ...(this.#wakeup ? { wakeup: this.#wakeup } : {}),
    });
  }

  async drainOnce(signal: AbortSignal): Promise<DrainSummary> {
    const counts: DrainCounts = { ...EmptyDrainSummary };
    if (this.#pause.active) return counts;
    this.#nextDue.reset();
    const claimed = await this.#outbox.claim(this.#config.batchSize, this.#clock.now(), this.#config.leaseMs);
    counts.claimed = claimed.length;
    if (claimed.length > 0) await this.#intents.deliver(claimed, signal, counts);
    if (!signal.aborted && !this.#pause.active) await this.#digests.flush(signal, counts);
    return counts;
  }

  async close(): Promise<void> {}
}
