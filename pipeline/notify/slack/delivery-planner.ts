import { BackfillDigestRule } from '../backfill-digest.ts';
import type { FindingState } from '../finding-states.ts';
import type { SlackNotifierConfig } from './config.ts';
import type { DeliveryPlan, FloodGroup, PostStep } from './delivery-plan.ts';
import { groupKeyOf, postKeyOf } from './delivery-plan.ts';
import type { MessageFormatter, SlackMessage } from './message-format.ts';
import type { FindingPayload, FindingSnapshot, NotificationPayload } from '../notification-payload.ts';
import type { ClaimedIntent } from '../outbox-store.ts';
import type { DigestRow } from './slack-digest-store.ts';
import type { MessageRow, NewDelivery, PreviousMessage } from './slack-message-store.ts';
import type { DigestKind } from './slack-tables.ts';

export interface ParsedIntent {
  readonly intent: ClaimedIntent;
  /** Null when the payload did not parse (the intent fails with `error`). */
  readonly payload: NotificationPayload | null;
  readonly error?: string;
}

/** Everything the planner reads, loaded by the notifier in a few batched queries. */
export interface PlannerInput {
  readonly intents: readonly ParsedIntent[];
  /** Delivery rows of these intents (an earlier, interrupted attempt). */
  readonly existing: ReadonlyMap<string, MessageRow>;
  /** Delivery rows of the findings these intents are about. */
  readonly ownRows: readonly MessageRow[];
  /** Earlier findings' rows of the same evaluation keys (flapping, recurrence). */
  readonly previous: readonly PreviousMessage[];
  readonly digests: ReadonlyMap<string, DigestRow>;
  readonly findingStates: ReadonlyMap<string, FindingState>;
  /** Lookback start for reconciling interrupted posts. */
  readonly reconcileSince: (row: MessageRow) => number;
}

type ThreadAnchor = { readonly ts: string } | null;

/**
 * Turns claimed intents into Slack steps: which channels, which message, post or edit, which thread. Pure: every
 * database read happens before, every write after (by the notifier), so the rules are easy to follow and test.
 */
export class DeliveryPlanner {
  readonly #config: SlackNotifierConfig;
  readonly #formatter: MessageFormatter;

  constructor(config: SlackNotifierConfig, formatter: MessageFormatter) {
    this.#config = config;
    this.#formatter = formatter;
  }

  ownerChannel(finding: FindingSnapshot): string {
    const channel = finding.slackChannel.trim();
    return channel.length > 0 ? channel : this.#config.defaultChannel;
  }

  /** Channels an intent is delivered to, owner's first. */
  channelsFor(payload: NotificationPayload): string[] {
    if (payload.kind === 'report.monthly') return [payload.channel];
    const owner = this.ownerChannel(payload.finding);
    const security = this.#config.securityChannel;
    if (payload.kind === 'finding.escalated') return owner === security ? [security] : [security, owner];
    const toSecurity = this.#config.securitySeverities.includes(payload.finding.severity) && security !== owner;
    return toSecurity ? [owner, security] : [owner];
  }

  plan(input: PlannerInput): DeliveryPlan {
    const plan: DeliveryPlan = { settled: [], steps: [], groups: new Map(), digestRejoins: [], touchedDigests: [] };
    for (const parsed of input.intents) {
      const { intent, payload } = parsed;
      if (!payload) {
        plan.settled.push({ intentId: intent.intentId, status: 'failed', reason: parsed.error ?? 'invalid payload' });
        continue;
      }
      if (payload.kind === 'report.monthly') {
        this.#planReport(plan, input, intent, payload);
        continue;
      }
      const state = input.findingStates.get(payload.finding.findingId);
      // An active risk exception silences alerts; a resolve only edits messages that already exist, so it still goes.
      if (state?.exceptionId && payload.kind !== 'finding.resolved') {
        plan.settled.push({ intentId: intent.intentId, status: 'suppressed', reason: `risk exception ${state.exceptionId}` });
        continue;
      }
      if (payload.kind === 'finding.opened' && payload.notify === 'silent') {
        plan.settled.push({ intentId: intent.intentId, status: 'suppressed', reason: 'backfill: silent' });
        continue;
      }
      switch (payload.kind) {
        case 'finding.opened':
        case 'finding.realert':
          for (const channel of this.channelsFor(payload)) this.#planAlert(plan, input, intent, payload, channel);
          break;
        case 'finding.escalated':
          for (const channel of this.channelsFor(payload)) this.#planEscalation(plan, input, intent, payload, channel);
          break;
        case 'finding.resolved':
          this.#planResolve(plan, input, intent, payload);
          break;
      }
    }
    return plan;
  }

  #planAlert(plan: DeliveryPlan, input: PlannerInput, intent: ClaimedIntent, payload: Extract<FindingPayload, { kind: 'finding.opened' | 'finding.realert' }>, channel: string): void {
    const f = payload.finding;
    const postKey = postKeyOf(intent.intentId, channel);
    const delivery = (threadTs: string | null, flaps: number): NewDelivery => ({
      postKey, intentId: intent.intentId, findingId: f.findingId, evaluationKey: f.evaluationKey, rule: f.rule, channel, role: 'alert', threadTs, flaps, shows: 'open',
    });
    if (this.#resume(plan, input, intent, channel, postKey, (row) => this.#formatter.alert({ finding: f, state: 'open', flaps: row.flaps, variant: variantOf(payload, row) }))) return;

    if (payload.kind === 'finding.realert') {
      const own = latest(input.ownRows, (row) => row.finding_id === f.findingId && row.channel === channel && isAlert(row, input.digests));
      const anchor = own ? this.#anchor(own, input.digests) : null;
      const message = this.#formatter.alert({ finding: f, state: 'open', flaps: own?.flaps ?? 0, variant: 'realert' });
      this.#candidate(plan, channel, f.rule, 'opened', postStep(intent, channel, delivery(anchor?.ts ?? null, own?.flaps ?? 0), message, anchor !== null));
      return;
    }

    const previous = latest(input.previous, (row) => row.evaluation_key === f.evaluationKey && row.channel === channel && row.finding_id !== f.findingId && isAlert(row, input.digests));
    if (previous && this.#flapped(previous, f)) {
      const flaps = previous.flaps + 1;
      if (previous.role === 'alert' && previous.state === 'posted' && previous.ts && previous.channel_id) {
        plan.steps.push({
          type: 'update',
          intentId: intent.intentId,
          claims: intent.attempts,
          channel,
          channelId: previous.channel_id,
          ts: previous.ts,
          message: this.#formatter.alert({ finding: f, state: 'open', flaps, variant: 'reopened' }),
          reuse: delivery(previous.thread_ts, flaps),
        });
        return;
      }
      if (previous.role === 'digest-member' && previous.digest_id) {
        plan.digestRejoins.push({ digestId: previous.digest_id, delivery: delivery(null, flaps) });
        return;
      }
    }
    const anchor = previous ? this.#anchor(previous, input.digests) : null;
    const message = this.#formatter.alert({ finding: f, state: 'open', flaps: 0, variant: anchor ? 'recurred' : 'new' });
    this.#candidate(plan, channel, f.rule, 'opened', postStep(intent, channel, delivery(anchor?.ts ?? null, 0), message, anchor !== null), payload.notify === 'digest');
  }

  #planEscalation(plan: DeliveryPlan, input: PlannerInput, intent: ClaimedIntent, payload: Extract<FindingPayload, { kind: 'finding.escalated' }>, channel: string): void {
    const f = payload.finding;
    const ownerChannel = this.ownerChannel(f);
    const view = { finding: f, reminder: payload.escalation.reminder, count: payload.escalation.count, at: payload.escalation.at, ownerChannel };
    const postKey = postKeyOf(intent.intentId, channel);
    const own = channel === this.#config.securityChannel
      ? undefined
      : latest(input.ownRows, (row) => row.finding_id === f.findingId && row.channel === channel && isAlert(row, input.digests));
    const anchor = own ? this.#anchor(own, input.digests) : null;
    const message = anchor ? this.#formatter.escalationReply(view) : this.#formatter.escalation(view);
    if (this.#resume(plan, input, intent, channel, postKey, () => message)) return;
    const delivery: NewDelivery = {
      postKey, intentId: intent.intentId, findingId: f.findingId, evaluationKey: f.evaluationKey, rule: f.rule, channel, role: 'escalation', threadTs: anchor?.ts ?? null, flaps: 0, shows: null,
    };
    this.#candidate(plan, channel, f.rule, 'escalated', postStep(intent, channel, delivery, message, false));
  }

  #planResolve(plan: DeliveryPlan, input: PlannerInput, intent: ClaimedIntent, payload: Extract<FindingPayload, { kind: 'finding.resolved' }>): void {
    const f = payload.finding;
    const rows = input.ownRows.filter((row) => row.finding_id === f.findingId);
    const messages = new Map<string, MessageRow[]>();
    for (const row of rows) {
      if (row.role !== 'alert' || row.state !== 'posted' || !row.ts || !row.channel_id) continue;
      const key = `${row.channel_id}\u0000${row.ts}`;
      messages.set(key, [...(messages.get(key) ?? []), row]);
    }
    for (const group of messages.values()) {
      const last = group.at(-1)!;
      plan.steps.push({
        type: 'update',
        intentId: intent.intentId,
        claims: intent.attempts,
        channel: last.channel,
        channelId: last.channel_id!,
        ts: last.ts!,
        message: this.#formatter.alert({ finding: f, state: 'resolved', flaps: last.flaps, variant: 'new' }),
        markShows: { postKeys: group.map((row) => row.post_key), shows: 'resolved' },
      });
    }
    const digests = [...new Set(rows.filter((row) => row.role === 'digest-member' && row.digest_id).map((row) => row.digest_id!))];
    plan.touchedDigests.push(...digests);
    if (messages.size === 0 && digests.length === 0) {
      plan.settled.push({ intentId: intent.intentId, status: 'suppressed', reason: 'no message to update' });
    }
  }

  #planReport(plan: DeliveryPlan, input: PlannerInput, intent: ClaimedIntent, payload: Extract<NotificationPayload, { kind: 'report.monthly' }>): void {
    const channel = payload.channel;
    const postKey = postKeyOf(intent.intentId, channel);
    const message = this.#formatter.report({ month: payload.month, text: payload.text, ...(payload.blocks ? { blocks: payload.blocks } : {}) });
    if (this.#resume(plan, input, intent, channel, postKey, () => message)) return;
    const delivery: NewDelivery = {
      postKey, intentId: intent.intentId, findingId: intent.findingId, evaluationKey: null, rule: null, channel, role: 'report', threadTs: null, flaps: 0, shows: null,
    };
    plan.steps.push(postStep(intent, channel, delivery, message, false));
  }

  /**
   * A delivery row from an earlier attempt decides: posted = done; sending = the post may have landed, so the
   * step reconciles (looks for the marker) before posting again. Returns true when the row settled the delivery.
   */
  #resume(plan: DeliveryPlan, input: PlannerInput, intent: ClaimedIntent, channel: string, postKey: string, render: (row: MessageRow) => SlackMessage): boolean {
    const row = input.existing.get(postKey);
    if (!row) return false;
    if (row.state === 'posted') return true;
    plan.steps.push({
      type: 'post',
      intentId: intent.intentId,
      claims: intent.attempts,
      channel,
      delivery: {
        postKey, intentId: row.intent_id, findingId: row.finding_id, evaluationKey: row.evaluation_key, rule: row.rule, channel, role: row.role, threadTs: row.thread_ts, flaps: row.flaps, shows: row.shows,
      },
      message: render(row),
      broadcast: row.role === 'alert' && row.thread_ts !== null,
      reconcile: true,
      since: input.reconcileSince(row),
    });
    return true;
  }

  #candidate(plan: DeliveryPlan, channel: string, rule: string, kind: DigestKind, step: PostStep, forceDigest = false): void {
    // A backfill's findings fold into one digest per channel, whatever their rule (issue 11).
    const groupRule = forceDigest ? BackfillDigestRule : rule;
    const key = groupKeyOf(channel, groupRule, kind, forceDigest);
    let group: FloodGroup | undefined = plan.groups.get(key);
    if (!group) {
      group = { channel, rule: groupRule, kind, candidates: [], ...(forceDigest ? { forceDigest } : {}) };
      plan.groups.set(key, group);
    }
    group.candidates.push({ step });
  }

  /** Resolved and reopened within the debounce window (event times, so a backlog does not change the answer). */
  #flapped(previous: PreviousMessage, f: FindingSnapshot): boolean {
    if (previous.finding_status !== 'resolved' || previous.finding_resolved_at === null) return false;
    const gap = f.openedAt - new Date(previous.finding_resolved_at).getTime();
    return gap >= 0 && gap <= this.#config.debounceMs;
  }

  /** The thread a follow-up goes into: the old alert's thread, or the digest it was folded into. */
  #anchor(row: MessageRow, digests: ReadonlyMap<string, DigestRow>): ThreadAnchor {
    if (row.role === 'digest-member') {
      const ts = row.digest_id ? digests.get(row.digest_id)?.ts : null;
      return ts ? { ts } : null;
    }
    if (row.state !== 'posted' || !row.ts) return null;
    return { ts: row.thread_ts ?? row.ts };
  }
}

function postStep(intent: ClaimedIntent, channel: string, delivery: NewDelivery, message: SlackMessage, broadcast: boolean): PostStep {
  return { type: 'post', intentId: intent.intentId, claims: intent.attempts, channel, delivery, message, broadcast, reconcile: false, since: null };
}

function variantOf(payload: { kind: string }, row: MessageRow): 'new' | 'realert' | 'recurred' {
  if (payload.kind === 'finding.realert') return 'realert';
  return row.thread_ts ? 'recurred' : 'new';
}

/** The finding's alert in a channel: its own message, or a membership of an "opened" digest (not an escalation digest). */
function isAlert(row: MessageRow, digests: ReadonlyMap<string, DigestRow>): boolean {
  if (row.role === 'alert') return true;
  return row.role === 'digest-member' && row.digest_id !== null && digests.get(row.digest_id)?.kind === 'opened';
}

function latest<T>(rows: readonly T[], predicate: (row: T) => boolean): T | undefined {
  for (let i = rows.length - 1; i >= 0; i--) if (predicate(rows[i]!)) return rows[i];
  return undefined;
}

