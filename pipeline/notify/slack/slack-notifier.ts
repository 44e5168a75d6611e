import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../clock/clock.ts';
import { SystemClock } from '../../clock/clock.ts';
import { defaultWorkerId } from '../../runtime/worker-id.ts';
import type { Database } from '../../store/database-schema.ts';
import type { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import { ChannelPacer } from './channel-pacer.ts';
import { ClaimLostError } from './claim-lost-error.ts';
import type { Sleep } from './channel-pacer.ts';
import type { SlackNotifierConfig } from './config.ts';
import type { PostStep, SlackStep, UpdateStep } from './delivery-plan.ts';
import { DeliveryPlanner } from './delivery-planner.ts';
import type { ParsedIntent, PlannerInput } from './delivery-planner.ts';
import { FloodDetector } from './flood-detector.ts';
import type { FloodDecision } from './flood-detector.ts';
import type { FloodGroup } from './delivery-plan.ts';
import { SlackHealthcheckError, slackHealthcheck } from './healthcheck.ts';
import { MessageFormatter } from './message-format.ts';
import type { SlackMessage } from './message-format.ts';
import { NotificationPayload } from './notification-payload.ts';
import type { DrainSummary, Notifier } from './notifier.ts';
import { OutboxStore } from './outbox-store.ts';
import type { ClaimedIntent } from './outbox-store.ts';
import { backoffDelay, decideRetry, describeOutcome, outcomeOf } from './retry.ts';
import type { RetryDecision } from './retry.ts';
import { SlackApi } from './slack-api.ts';
import { SlackMessageStore } from './slack-message-store.ts';
import type { DigestRow } from './slack-message-store.ts';

/** Test seams for the two crash points of the post protocol: throwing from a hook is a crash at that point. */
export interface SlackNotifierHooks {
  /** After the delivery row says "sending", before chat.postMessage. */
  readonly afterClaim?: (postKey: string) => void | Promise<void>;
  /** After Slack accepted the post, before its ts is recorded. */
  readonly afterSend?: (postKey: string, ts: string) => void | Promise<void>;
  /** After a digest's first post was claimed, before rendering and pacing. */
  readonly afterDigestClaim?: (digestId: string) => void | Promise<void>;
}

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
}

type StepResult =
  | { readonly kind: 'done'; readonly posted?: boolean; readonly updated?: boolean }
  | { readonly kind: 'reject'; readonly reason: string }
  | { readonly kind: 'retry'; readonly at: number; readonly reason: string }
  | { readonly kind: 'pause'; readonly reason: string };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Updates of a message that is gone (deleted by a person, channel archived): nothing left to edit. */
const GoneErrors: ReadonlySet<string> = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'is_archived', 'channel_not_found']);

const ChannelConcurrency = 16;

/**
 * The Slack sink of the outbox: claims intents, posts/edits messages with per-channel pacing, and settles each
 * intent only after Slack confirmed. Posting follows claim-before-send: a delivery row says "sending" before
 * chat.postMessage and gets the ts after; a row found still "sending" is looked up in Slack by its metadata
 * marker before anything is posted again. See docs/slack.md for the remaining window.
 */
export class SlackNotifier implements Notifier {
  readonly name = 'slack-notifier';
  readonly #config: SlackNotifierConfig;
  readonly #logger: Logger;
  readonly #catalog: RuleCatalog;
  readonly #api: SlackApi;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  readonly #hooks: SlackNotifierHooks;
  readonly #random: () => number;
  readonly #outbox: OutboxStore;
  readonly #messages: SlackMessageStore;
  readonly #formatter: MessageFormatter;
  readonly #planner: DeliveryPlanner;
  readonly #flood: FloodDetector;
  readonly #pacer: ChannelPacer;
  #pausedUntil = 0;
  #initialized = false;

  constructor(options: SlackNotifierOptions) {
    this.#config = options.config;
    this.#logger = options.logger.child({ sink: 'slack' });
    this.#catalog = options.catalog;
    this.#api = options.api ?? SlackApi.create(options.config, this.#logger);
    this.#clock = options.clock ?? new SystemClock();
    this.#sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.#hooks = options.hooks ?? {};
    this.#random = options.random ?? Math.random;
    this.#outbox = new OutboxStore(options.db, options.owner ?? `${defaultWorkerId()}-slack`);
    this.#messages = new SlackMessageStore(options.db);
    this.#formatter = new MessageFormatter({ catalog: options.catalog, ...(options.config.runbookBaseUrl ? { runbookBaseUrl: options.config.runbookBaseUrl } : {}) });
    this.#planner = new DeliveryPlanner(options.config, this.#formatter);
    this.#flood = new FloodDetector({ threshold: options.config.floodThreshold, windowMs: options.config.floodWindowMs });
    this.#pacer = new ChannelPacer({ intervalMs: options.config.channelIntervalMs, clock: this.#clock, sleep: this.#sleep });
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
    let failures = 0;
    while (!signal.aborted) {
      const paused = this.#pausedUntil - this.#clock.now();
      if (paused > 0) {
        await this.#idle(Math.min(paused, Math.max(this.#config.pollIntervalMs, 1_000)), signal);
        continue;
      }
      try {
        const summary = await this.drainOnce(signal);
        failures = 0;
        if (summary.claimed > 0) this.#logger.debug(summary, 'drained');
        else await this.#idle(this.#config.pollIntervalMs, signal);
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        const delay = backoffDelay(failures, { baseMs: this.#config.backoffBaseMs, maxMs: this.#config.backoffMaxMs }, this.#random);
        this.#logger.error({ err: error, delayMs: delay }, 'notifier drain failed; claims expire and are retried');
        await this.#idle(delay, signal);
      }
    }
  }

  async drainOnce(signal: AbortSignal): Promise<DrainSummary> {
    const counts: Mutable<DrainSummary> = { claimed: 0, sent: 0, suppressed: 0, failed: 0, retried: 0, posted: 0, updated: 0, digested: 0, digestsPosted: 0, digestsUpdated: 0 };
    if (this.#clock.now() < this.#pausedUntil) return counts;
    const claimed = await this.#outbox.claim(this.#config.batchSize, this.#clock.now(), this.#config.leaseMs);
    counts.claimed = claimed.length;
    if (claimed.length > 0) await this.#deliver(claimed, signal, counts);
    if (!signal.aborted && this.#clock.now() >= this.#pausedUntil) await this.#flushDigests(signal, counts);
    return counts;
  }

  async close(): Promise<void> {}

  // ------------------------------------------------------------------ intents

  async #deliver(claimed: readonly ClaimedIntent[], signal: AbortSignal, counts: Mutable<DrainSummary>): Promise<void> {
    const unsettled = new Set(claimed.map((intent) => intent.intentId));
    // Claims lapsed and taken by another notifier while this drain was paced: not sent from here any more.
    const lost = new Set<string>();
    const heartbeat = setInterval(() => {
      const held = [...unsettled].filter((id) => !lost.has(id));
      this.#outbox
        .renew(held, this.#config.leaseMs)
        .then((still) => {
          const gone = held.filter((id) => unsettled.has(id) && !still.has(id));
          for (const id of gone) lost.add(id);
          if (gone.length > 0) this.#logger.warn({ intents: gone.length }, 'intent claims lapsed and were taken by another notifier; not sending them');
        })
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'claim renewal failed'));
    }, this.#renewEveryMs());
    heartbeat.unref();
    try {
      const parsed = claimed.map(parseIntent);
      const plan = this.#planner.plan(await this.#load(parsed));
      const order = new Map(claimed.map((intent, i) => [intent.intentId, i]));
      const ledger = new IntentLedger();
      const now = this.#clock.now();

      for (const { digestId, delivery } of plan.digestRejoins) {
        await this.#messages.joinExistingDigest(digestId, [delivery], now);
        counts.digested++;
      }
      await this.#messages.touchDigests(plan.touchedDigests, now);

      const steps: SlackStep[] = [...plan.steps];
      for (const group of plan.groups.values()) {
        if ((await this.#decideFlood(group, now)) === 'digest') {
          const digestId = await this.#messages.joinDigest(group.channel, group.rule, group.kind, group.candidates.map((c) => c.step.delivery), now, this.#flood.windowMs);
          counts.digested += group.candidates.length;
          this.#logger.info({ channel: group.channel, rule: group.rule, kind: group.kind, findings: group.candidates.length, digestId }, 'flood folded into digest');
        } else {
          steps.push(...group.candidates.map((c) => c.step));
        }
      }
      steps.sort((a, b) => (order.get(a.intentId) ?? 0) - (order.get(b.intentId) ?? 0));
      await this.#execute(steps, ledger, lost, signal, counts);
      await this.#settle(claimed, plan.settled, ledger, counts);
      unsettled.clear();
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #load(intents: readonly ParsedIntent[]): Promise<PlannerInput> {
    const postKeys: string[] = [];
    const findingIds: string[] = [];
    const evaluationKeys: string[] = [];
    for (const { intent, payload } of intents) {
      if (!payload) continue;
      for (const channel of this.#planner.channelsFor(payload)) postKeys.push(`${intent.intentId}|${channel}`);
      if (payload.kind === 'report.monthly') continue;
      findingIds.push(payload.finding.findingId);
      if (payload.kind === 'finding.opened') evaluationKeys.push(payload.finding.evaluationKey);
    }
    const [existing, ownRows, previous, findingStates] = await Promise.all([
      this.#messages.byPostKeys(postKeys),
      this.#messages.forFindings(findingIds),
      this.#messages.previousForKeys(evaluationKeys),
      this.#messages.findingStates(findingIds),
    ]);
    const digestIds = [...ownRows, ...previous].map((row) => row.digest_id).filter((id): id is string => id !== null);
    const digests = await this.#messages.digests(digestIds);
    const lookback = this.#config.reconcileLookbackMs;
    return { intents, existing, ownRows, previous, digests, findingStates, reconcileSince: (row) => new Date(row.created_at).getTime() - lookback };
  }

  async #decideFlood(group: FloodGroup, now: number): Promise<FloodDecision> {
    if (group.forceDigest) return 'digest';
    const open = await this.#messages.openDigest(group.channel, group.rule, group.kind, now);
    const recent = open ? 0 : await this.#messages.recentIndividual(group.channel, group.rule, group.kind === 'opened' ? 'alert' : 'escalation', this.#flood.windowStart(now));
    return this.#flood.decide({ digestOpen: open !== null, recentIndividual: recent, incoming: group.candidates.length });
  }

  /** One sequential worker per channel (pacing, order), channels in parallel (one slow channel delays no other). */
  async #execute(steps: readonly SlackStep[], ledger: IntentLedger, lost: ReadonlySet<string>, signal: AbortSignal, counts: Mutable<DrainSummary>): Promise<void> {
    const byChannel = new Map<string, SlackStep[]>();
    for (const step of steps) byChannel.set(step.channel, [...(byChannel.get(step.channel) ?? []), step]);
    const stop = new AbortController();
    const drainSignal = AbortSignal.any([signal, stop.signal]);
    await runPool([...byChannel.values()], ChannelConcurrency, (list) => this.#runChannel(list, ledger, lost, drainSignal, stop, counts));
  }

  async #runChannel(list: readonly SlackStep[], ledger: IntentLedger, lost: ReadonlySet<string>, signal: AbortSignal, stop: AbortController, counts: Mutable<DrainSummary>): Promise<void> {
    let blocked: { readonly at: number; readonly reason: string } | null = null;
    for (const step of list) {
      if (lost.has(step.intentId)) {
        // Settling or releasing it is fenced by the claim owner: the notifier that holds it now is not disturbed.
        ledger.retry(step.intentId, this.#clock.now(), 'claim lost');
        continue;
      }
      if (signal.aborted) {
        ledger.retry(step.intentId, Math.max(this.#clock.now(), this.#pausedUntil), 'drain stopped');
        continue;
      }
      if (blocked) {
        ledger.retry(step.intentId, blocked.at, blocked.reason);
        continue;
      }
      let result: StepResult;
      try {
        result = step.type === 'post' ? await this.#post(step, signal) : await this.#update(step, signal);
      } catch (error) {
        if (!signal.aborted) throw error;
        ledger.retry(step.intentId, Math.max(this.#clock.now(), this.#pausedUntil), 'drain stopped');
        continue;
      }
      const log = { channel: step.channel, intentId: step.intentId, step: step.type };
      switch (result.kind) {
        case 'done':
          if (result.posted) counts.posted++;
          if (result.updated) counts.updated++;
          break;
        case 'reject':
          ledger.fail(step.intentId, `${step.channel}: ${result.reason}`);
          this.#logger.warn({ ...log, reason: result.reason }, 'slack refused the message; intent failed');
          break;
        case 'retry':
          ledger.retry(step.intentId, result.at, result.reason);
          // The channel is rate limited or failing: the rest of its queue waits for the next drain.
          blocked = result;
          this.#logger.warn({ ...log, reason: result.reason, retryInMs: result.at - this.#clock.now() }, 'slack delivery deferred');
          break;
        case 'pause':
          this.#pause(result.reason);
          ledger.retry(step.intentId, this.#pausedUntil, result.reason);
          stop.abort();
          break;
      }
    }
  }

  async #post(step: PostStep, signal: AbortSignal): Promise<StepResult> {
    const { delivery } = step;
    if (!step.reconcile) {
      await this.#messages.beginPost(delivery, this.#clock.now());
      await this.#hooks.afterClaim?.(delivery.postKey);
    }
    const outcome = await this.#postProtocol(
      {
        channel: step.channel,
        marker: delivery.postKey,
        threadTs: delivery.threadTs,
        message: step.message,
        broadcast: step.broadcast,
        uncertain: step.reconcile,
        since: step.since ?? this.#clock.now() - this.#config.reconcileLookbackMs,
        claims: step.claims,
        posted: async (channelId, ts, adopted) => {
          if (!adopted) await this.#hooks.afterSend?.(delivery.postKey, ts);
          await this.#messages.completePost(delivery.postKey, channelId, ts, this.#clock.now());
        },
      },
      signal,
    );
    // Slack surely has nothing: drop the claim so the next attempt posts without searching first.
    if (outcome.result.kind !== 'done' && !outcome.uncertain) await this.#messages.abandonPost(delivery.postKey);
    return outcome.result;
  }

  async #update(step: UpdateStep, signal: AbortSignal): Promise<StepResult> {
    const result = await this.#updateWithRetry(step.channel, step.channelId, step.ts, step.message, step.claims, signal);
    const gone = result.kind === 'reject' && GoneErrors.has(result.reason) && !step.reuse;
    if (result.kind === 'done' || gone) {
      if (gone) this.#logger.warn({ channel: step.channel, intentId: step.intentId, reason: result.kind === 'reject' ? result.reason : '' }, 'message to edit is gone');
      const now = this.#clock.now();
      if (step.reuse) await this.#messages.insertPosted(step.reuse, { channelId: step.channelId, ts: step.ts, reused: true }, now);
      if (step.markShows) await this.#messages.markShows(step.markShows.postKeys, step.markShows.shows, now);
      return { kind: 'done', updated: result.kind === 'done' };
    }
    return result;
  }

  /**
   * Posts with reconciliation: while `uncertain` (an earlier attempt may have landed), the message is first looked
   * for by its marker and adopted if found. Returns whether Slack may hold a copy when it gives up.
   */
  async #postProtocol(
    p: {
      readonly channel: string;
      readonly marker: string;
      readonly threadTs: string | null;
      readonly message: SlackMessage;
      readonly broadcast: boolean;
      readonly uncertain: boolean;
      readonly since: number;
      readonly claims: number;
      readonly posted: (channelId: string, ts: string, adopted: boolean) => Promise<void>;
      /** Checked (and renewed) right before the post, after pacing: throws ClaimLostError when it says false. */
      readonly holdsClaim?: () => Promise<boolean>;
    },
    signal: AbortSignal,
  ): Promise<{ readonly result: StepResult; readonly uncertain: boolean }> {
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

  async #updateWithRetry(channel: string, channelId: string, ts: string, message: SlackMessage, claims: number, signal: AbortSignal): Promise<StepResult> {
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
        this.#pacer.defer(channel, backoffDelay(attempt, this.#backoffPolicy(), this.#random));
        return null;
      default:
        return null;
    }
  }

  #giveUp(claims: number, reason: string): StepResult {
    return { kind: 'retry', at: this.#clock.now() + backoffDelay(claims, this.#backoffPolicy(), this.#random), reason };
  }

  /** Claims are renewed three times per lease. */
  #renewEveryMs(): number {
    return Math.max(50, Math.floor(this.#config.leaseMs / 3));
  }

  #backoffPolicy(): { baseMs: number; maxMs: number } {
    return { baseMs: this.#config.backoffBaseMs, maxMs: this.#config.backoffMaxMs };
  }

  /** One paced Slack call; errors become a retry decision (abort errors propagate). */
  async #call<T>(channel: string, signal: AbortSignal, fn: () => Promise<T>): Promise<{ readonly ok: true; readonly value: T } | { readonly ok: false; readonly decision: RetryDecision; readonly reason: string }> {
    await this.#pacer.acquire(channel, signal);
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      if (error instanceof ClaimLostError) throw error;
      const outcome = outcomeOf(error);
      return { ok: false, decision: decideRetry(outcome), reason: describeOutcome(outcome) };
    }
  }

  #pause(reason: string): void {
    const until = this.#clock.now() + this.#config.authPauseMs;
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#pacer.deferAll(this.#config.authPauseMs);
    this.#logger.error({ reason, pauseMs: this.#config.authPauseMs }, 'slack refused the token or app; notifications paused, none dropped');
  }

  async #settle(claimed: readonly ClaimedIntent[], settled: readonly { intentId: string; status: 'suppressed' | 'failed'; reason: string }[], ledger: IntentLedger, counts: Mutable<DrainSummary>): Promise<void> {
    const now = this.#clock.now();
    const byOutcome = new Map<string, { status: 'sent' | 'suppressed' | 'failed'; reason: string | null; ids: string[] }>();
    const add = (status: 'sent' | 'suppressed' | 'failed', reason: string | null, id: string) => {
      const key = `${status}\u0000${reason ?? ''}`;
      const entry = byOutcome.get(key) ?? { status, reason, ids: [] };
      entry.ids.push(id);
      byOutcome.set(key, entry);
    };
    const planned = new Map(settled.map((s) => [s.intentId, s]));
    const retries = new Map<string, { at: number; reason: string }>();
    for (const intent of claimed) {
      const fixed = planned.get(intent.intentId);
      if (fixed) {
        add(fixed.status, fixed.reason, intent.intentId);
        continue;
      }
      const outcome = ledger.outcome(intent.intentId);
      if (outcome.kind === 'retry') retries.set(intent.intentId, outcome);
      else if (outcome.kind === 'failed') add('failed', outcome.reason, intent.intentId);
      else add('sent', null, intent.intentId);
    }
    for (const { status, reason, ids } of byOutcome.values()) {
      const n = await this.#outbox.complete(ids, status, now, reason);
      counts[status] += n;
    }
    // Deferred intents of one channel share their time and reason: one statement per group.
    const releases = new Map<string, { at: number; reason: string; ids: string[] }>();
    for (const [id, { at, reason }] of retries) {
      const key = `${at}\u0000${reason}`;
      const entry = releases.get(key) ?? { at, reason, ids: [] };
      entry.ids.push(id);
      releases.set(key, entry);
    }
    for (const { at, reason, ids } of releases.values()) await this.#outbox.release(ids, at, reason);
    counts.retried += retries.size;
  }

  // ------------------------------------------------------------------ digests

  async #flushDigests(signal: AbortSignal, counts: Mutable<DrainSummary>): Promise<void> {
    const due = await this.#messages.digestsDue(this.#clock.now(), this.#config.digestUpdateMs, this.#config.digestsPerDrain);
    if (due.length === 0) return;
    const byChannel = new Map<string, DigestRow[]>();
    for (const digest of due) byChannel.set(digest.channel, [...(byChannel.get(digest.channel) ?? []), digest]);
    await runPool([...byChannel.values()], ChannelConcurrency, async (list) => {
      for (const digest of list) {
        if (signal.aborted) return;
        try {
          if (digest.state === 'posted') await this.#updateDigest(digest, signal, counts);
          else await this.#postDigest(digest, signal, counts);
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
      }
    });
  }

  async #postDigest(due: DigestRow, signal: AbortSignal, counts: Mutable<DrainSummary>): Promise<void> {
    const owner = this.#outbox.owner;
    const { leaseMs } = this.#config;
    const claimed = await this.#messages.claimDigestPost(due.digest_id, owner, this.#clock.now(), leaseMs);
    if (!claimed) return;
    // The claim is taken before rendering and pacing, which can wait out a long Retry-After: it is renewed all along,
    // and checked once more right before the post.
    const heartbeat = setInterval(() => {
      this.#messages.renewDigestClaim(claimed.digest_id, owner, leaseMs).catch((error: unknown) => this.#logger.warn({ err: error }, 'digest claim renewal failed'));
    }, this.#renewEveryMs());
    heartbeat.unref();
    const log = { channel: claimed.channel, digestId: claimed.digest_id };
    try {
      await this.#hooks.afterDigestClaim?.(claimed.digest_id);
      const message = await this.#renderDigest(claimed);
      const outcome = await this.#postProtocol(
        {
          channel: claimed.channel,
          marker: `digest:${claimed.digest_id}`,
          threadTs: null,
          message,
          broadcast: false,
          uncertain: claimed.state === 'sending',
          since: new Date(claimed.created_at).getTime() - this.#config.reconcileLookbackMs,
          claims: 1,
          holdsClaim: () => this.#messages.renewDigestClaim(claimed.digest_id, owner, leaseMs),
          posted: async (channelId, ts) => {
            if (!(await this.#messages.completeDigestPost(claimed.digest_id, owner, channelId, ts, claimed.version, this.#clock.now()))) {
              this.#logger.warn(log, 'digest claim lost after posting; the notifier holding it adopts the message by its marker');
            }
          },
        },
        signal,
      );
      if (outcome.result.kind === 'done') {
        counts.digestsPosted++;
        return;
      }
      if (outcome.result.kind === 'pause') this.#pause(outcome.result.reason);
      const at = outcome.result.kind === 'retry' ? outcome.result.at : this.#clock.now() + this.#config.backoffMaxMs;
      await this.#messages.retryDigestPost(claimed.digest_id, owner, outcome.uncertain ? 'sending' : 'pending', at);
      this.#logger.warn({ ...log, result: outcome.result.kind }, 'digest post deferred');
    } catch (error) {
      if (!(error instanceof ClaimLostError)) throw error;
      this.#logger.warn(log, 'digest claim lost to another notifier; not posting');
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #updateDigest(due: DigestRow, signal: AbortSignal, counts: Mutable<DrainSummary>): Promise<void> {
    if (!due.ts || !due.channel_id) return;
    const message = await this.#renderDigest(due);
    const result = await this.#updateWithRetry(due.channel, due.channel_id, due.ts, message, 1, signal);
    if (result.kind === 'done') {
      await this.#messages.markDigestRendered(due.digest_id, due.version, this.#clock.now());
      counts.digestsUpdated++;
      return;
    }
    if (result.kind === 'pause') this.#pause(result.reason);
    if (result.kind === 'reject' && GoneErrors.has(result.reason)) {
      // Someone deleted the digest: stop trying to edit it.
      await this.#messages.markDigestRendered(due.digest_id, due.version, this.#clock.now());
      return;
    }
    await this.#messages.postponeDigestUpdate(due.digest_id, this.#clock.now());
  }

  async #renderDigest(digest: DigestRow): Promise<SlackMessage> {
    const summary = await this.#messages.digestSummary(digest.digest_id);
    const rule = this.#catalog.lookup(digest.rule).rule;
    return this.#formatter.digest({
      kind: digest.kind,
      rule: digest.rule,
      ruleTitle: summary.ruleTitle ?? rule.title,
      severity: summary.severity ?? rule.severity,
      startedAt: new Date(digest.started_at).getTime(),
      updatedAt: this.#clock.now(),
      total: summary.total,
      open: summary.open,
      byAccount: summary.byAccount,
      accounts: summary.accounts,
      byRegion: summary.byRegion,
      regions: summary.regions,
      topResources: summary.topResources,
    });
  }

  async #idle(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.#sleep(ms, signal);
    } catch {
      // aborted: the loop condition ends the run
    }
  }
}

/** What happened to each intent's deliveries in this drain. */
class IntentLedger {
  readonly #retries = new Map<string, { at: number; reason: string }>();
  readonly #failures = new Map<string, string[]>();

  retry(intentId: string, at: number, reason: string): void {
    const previous = this.#retries.get(intentId);
    if (!previous || at > previous.at) this.#retries.set(intentId, { at, reason });
  }

  fail(intentId: string, reason: string): void {
    this.#failures.set(intentId, [...(this.#failures.get(intentId) ?? []), reason]);
  }

  /** A retry wins over a failure: delivered channels are skipped next time, the failed one is tried again. */
  outcome(intentId: string): { kind: 'retry'; at: number; reason: string } | { kind: 'failed'; reason: string } | { kind: 'sent' } {
    const retry = this.#retries.get(intentId);
    if (retry) return { kind: 'retry', ...retry };
    const failures = this.#failures.get(intentId);
    if (failures) return { kind: 'failed', reason: failures.join('; ') };
    return { kind: 'sent' };
  }
}

function parseIntent(intent: ClaimedIntent): ParsedIntent {
  const parsed = NotificationPayload.safeParse(intent.payload);
  if (parsed.success) return { intent, payload: parsed.data };
  const issue = parsed.error.issues[0];
  return { intent, payload: null, error: `invalid ${intent.kind} payload: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'unparseable'}` };
}

/** Runs `fn` over items with at most `limit` in flight; waits for all, then rethrows the first failure. */
async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
