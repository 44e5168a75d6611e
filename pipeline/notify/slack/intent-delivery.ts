import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock/clock.ts';
import type { Database } from '../../store/database-schema.ts';
import { loadFindingStates } from '../finding-states.ts';
import { NotificationPayload } from '../notification-payload.ts';
import type { DrainCounts } from '../notifier.ts';
import type { ClaimedIntent, OutboxStore } from '../outbox-store.ts';
import { startClaimHeartbeat } from './claim-heartbeat.ts';
import type { SlackNotifierConfig } from './config.ts';
import type { FloodGroup, PostStep, SlackStep, UpdateStep } from './delivery-plan.ts';
import type { DeliveryPlanner, ParsedIntent, PlannerInput } from './delivery-planner.ts';
import type { FloodDecision, FloodDetector } from './flood-detector.ts';
import { IntentLedger } from './intent-ledger.ts';
import type { NextDue } from './next-due.ts';
import { GoneErrors } from './post-protocol.ts';
import type { SlackPostProtocol, StepResult } from './post-protocol.ts';
import { byChannel, ChannelConcurrency, runPool } from './run-pool.ts';
import type { SlackDigestStore } from './slack-digest-store.ts';
import type { SlackMessageStore } from './slack-message-store.ts';
import type { SlackNotifierHooks } from './slack-notifier-hooks.ts';
import type { WorkspacePause } from './workspace-pause.ts';

export interface IntentDeliveryOptions {
  readonly config: SlackNotifierConfig;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: SlackNotifierHooks;
  readonly outbox: OutboxStore;
  readonly messages: SlackMessageStore;
  readonly digests: SlackDigestStore;
  readonly planner: DeliveryPlanner;
  readonly flood: FloodDetector;
  readonly protocol: SlackPostProtocol;
  readonly pause: WorkspacePause;
  readonly nextDue: NextDue;
}

/**
 * Delivers one batch of claimed intents: loads what the planner needs, folds floods into digests, runs the Slack
 * steps channel by channel, and settles each intent only after Slack confirmed (or puts it back with a delay).
 * Claims are renewed all along; one lost to another notifier is not sent from here.
 */
export class IntentDelivery {
  readonly #o: IntentDeliveryOptions;

  constructor(options: IntentDeliveryOptions) {
    this.#o = options;
  }

  async deliver(claimed: readonly ClaimedIntent[], signal: AbortSignal, counts: DrainCounts): Promise<void> {
    const { outbox, messages, digests, planner, flood, logger, clock, config } = this.#o;
    const unsettled = new Set(claimed.map((intent) => intent.intentId));
    // Claims lapsed and taken by another notifier while this drain was paced: not sent from here any more.
    const lost = new Set<string>();
    const stopHeartbeat = startClaimHeartbeat(() => {
      const held = [...unsettled].filter((id) => !lost.has(id));
      outbox
        .renew(held, config.leaseMs)
        .then((still) => {
          const gone = held.filter((id) => unsettled.has(id) && !still.has(id));
          for (const id of gone) lost.add(id);
          if (gone.length > 0) logger.warn({ intents: gone.length }, 'intent claims lapsed and were taken by another notifier; not sending them');
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'claim renewal failed'));
    }, config.leaseMs);
    try {
      const parsed = claimed.map(parseIntent);
      const plan = planner.plan(await this.#load(parsed));
      const order = new Map(claimed.map((intent, i) => [intent.intentId, i]));
      const ledger = new IntentLedger();
      const now = clock.now();

      for (const { digestId, delivery } of plan.digestRejoins) {
        await digests.joinExistingDigest(digestId, [delivery], now);
        counts.digested++;
      }
      await digests.touchDigests(plan.touchedDigests, now);
      let digestsChanged = plan.digestRejoins.length > 0 || plan.touchedDigests.length > 0;

      const steps: SlackStep[] = [...plan.steps];
      for (const group of plan.groups.values()) {
        if ((await this.#decideFlood(group, now)) === 'digest') {
          const digestId = await digests.joinDigest(group.channel, group.rule, group.kind, group.candidates.map((c) => c.step.delivery), now, flood.windowMs);
          counts.digested += group.candidates.length;
          digestsChanged = true;
          logger.info({ channel: group.channel, rule: group.rule, kind: group.kind, findings: group.candidates.length, digestId }, 'flood folded into digest');
        } else {
          steps.push(...group.candidates.map((c) => c.step));
        }
      }
      // A changed digest is re-rendered within the update interval, by this drain's flush or by one that late.
      if (digestsChanged) this.#o.nextDue.note(now + config.digestUpdateMs);
      steps.sort((a, b) => (order.get(a.intentId) ?? 0) - (order.get(b.intentId) ?? 0));
      const stop = new AbortController();
      const drainSignal = AbortSignal.any([signal, stop.signal]);
      await runPool(byChannel(steps), ChannelConcurrency, (list) => this.#runChannel(list, ledger, lost, drainSignal, stop, counts));
      await this.#settle(claimed, plan.settled, ledger, counts);
      unsettled.clear();
    } finally {
      stopHeartbeat();
    }
  }

  async #load(intents: readonly ParsedIntent[]): Promise<PlannerInput> {
    const { messages, digests, planner, config } = this.#o;
    const postKeys: string[] = [];
    const findingIds: string[] = [];
    const evaluationKeys: string[] = [];
    for (const { intent, payload } of intents) {
      if (!payload) continue;
      for (const channel of planner.channelsFor(payload)) postKeys.push(`${intent.intentId}|${channel}`);
      if (payload.kind === 'report.monthly') continue;
      findingIds.push(payload.finding.findingId);
      if (payload.kind === 'finding.opened') evaluationKeys.push(payload.finding.evaluationKey);
    }
    const [existing, ownRows, previous, findingStates] = await Promise.all([
      messages.byPostKeys(postKeys),
      messages.forFindings(findingIds),
      messages.previousForKeys(evaluationKeys),
      loadFindingStates(this.#o.db, findingIds),
    ]);
    const digestIds = [...ownRows, ...previous].map((row) => row.digest_id).filter((id): id is string => id !== null);
    const lookback = config.reconcileLookbackMs;
    return { intents, existing, ownRows, previous, digests: await digests.digests(digestIds), findingStates, reconcileSince: (row) => new Date(row.created_at).getTime() - lookback };
  }

  async #decideFlood(group: FloodGroup, now: number): Promise<FloodDecision> {
    if (group.forceDigest) return 'digest';
    const { flood } = this.#o;
    const open = await this.#o.digests.openDigest(group.channel, group.rule, group.kind, now);
    const recent = open ? 0 : await this.#o.messages.recentIndividual(group.channel, group.rule, group.kind === 'opened' ? 'alert' : 'escalation', flood.windowStart(now));
    return flood.decide({ digestOpen: open !== null, recentIndividual: recent, incoming: group.candidates.length });
  }

  async #runChannel(list: readonly SlackStep[], ledger: IntentLedger, lost: ReadonlySet<string>, signal: AbortSignal, stop: AbortController, counts: DrainCounts): Promise<void> {
    const { clock, pause, logger } = this.#o;
    let blocked: { readonly at: number; readonly reason: string } | null = null;
    for (const step of list) {
      if (lost.has(step.intentId)) {
        // Settling or releasing it is fenced by the claim owner: the notifier that holds it now is not disturbed.
        ledger.retry(step.intentId, clock.now(), 'claim lost');
        continue;
      }
      if (signal.aborted) {
        ledger.retry(step.intentId, Math.max(clock.now(), pause.until), 'drain stopped');
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
        ledger.retry(step.intentId, Math.max(clock.now(), pause.until), 'drain stopped');
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
          logger.warn({ ...log, reason: result.reason }, 'slack refused the message; intent failed');
          break;
        case 'retry':
          ledger.retry(step.intentId, result.at, result.reason);
          // The channel is rate limited or failing: the rest of its queue waits for the next drain.
          blocked = result;
          logger.warn({ ...log, reason: result.reason, retryInMs: result.at - clock.now() }, 'slack delivery deferred');
          break;
        case 'pause':
          pause.pause(result.reason);
          ledger.retry(step.intentId, pause.until, result.reason);
          stop.abort();
          break;
      }
    }
  }

  async #post(step: PostStep, signal: AbortSignal): Promise<StepResult> {
    const { messages, hooks, clock, config } = this.#o;
    const { delivery } = step;
    if (!step.reconcile) {
      await messages.beginPost(delivery, clock.now());
      await hooks.afterClaim?.(delivery.postKey);
    }
    const outcome = await this.#o.protocol.post(
      {
        channel: step.channel,
        marker: delivery.postKey,
        threadTs: delivery.threadTs,
        message: step.message,
        broadcast: step.broadcast,
        uncertain: step.reconcile,
        since: step.since ?? clock.now() - config.reconcileLookbackMs,
        claims: step.claims,
        posted: async (channelId, ts, adopted) => {
          if (!adopted) await hooks.afterSend?.(delivery.postKey, ts);
          await messages.completePost(delivery.postKey, channelId, ts, clock.now());
        },
      },
      signal,
    );
    // Slack surely has nothing: drop the claim so the next attempt posts without searching first.
    if (outcome.result.kind !== 'done' && !outcome.uncertain) await messages.abandonPost(delivery.postKey);
    return outcome.result;
  }

  async #update(step: UpdateStep, signal: AbortSignal): Promise<StepResult> {
    const { messages, clock, logger } = this.#o;
    const result = await this.#o.protocol.update(step.channel, step.channelId, step.ts, step.message, step.claims, signal);
    const gone = result.kind === 'reject' && GoneErrors.has(result.reason) && !step.reuse;
    if (result.kind === 'done' || gone) {
      if (gone) logger.warn({ channel: step.channel, intentId: step.intentId, reason: result.kind === 'reject' ? result.reason : '' }, 'message to edit is gone');
      const now = clock.now();
      if (step.reuse) await messages.insertPosted(step.reuse, { channelId: step.channelId, ts: step.ts, reused: true }, now);
      if (step.markShows) await messages.markShows(step.markShows.postKeys, step.markShows.shows, now);
      return { kind: 'done', updated: result.kind === 'done' };
    }
    return result;
  }

  async #settle(claimed: readonly ClaimedIntent[], settled: readonly { intentId: string; status: 'suppressed' | 'failed'; reason: string }[], ledger: IntentLedger, counts: DrainCounts): Promise<void> {
    const { outbox } = this.#o;
    const now = this.#o.clock.now();
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
      const n = await outbox.complete(ids, status, now, reason);
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
    for (const { at, reason, ids } of releases.values()) {
      await outbox.release(ids, at, reason);
      this.#o.nextDue.note(at);
    }
    counts.retried += retries.size;
  }
}

function parseIntent(intent: ClaimedIntent): ParsedIntent {
  const parsed = NotificationPayload.safeParse(intent.payload);
  if (parsed.success) return { intent, payload: parsed.data };
  const issue = parsed.error.issues[0];
  return { intent, payload: null, error: `invalid ${intent.kind} payload: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'unparseable'}` };
}
