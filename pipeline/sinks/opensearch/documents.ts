import type { Severity } from '../../../schemas/rule-catalog.ts';
import type { EscalationNotice } from '../../escalation/escalation-facts.ts';
import type { Finding } from '../../../stages/track/finding.ts';
import type { TrackedEvent, Transition } from '../../../stages/track/tracked-event.ts';

/** Lets dashboards sort severities by urgency rather than alphabetically. */
export const SeverityRank: Readonly<Record<Severity, number>> = { Critical: 4, High: 3, Medium: 2, Low: 1 };

/** One accepted compliance change, enriched: the event log analysts trend and break down. */
export interface EventDocument {
  readonly '@timestamp': string;
  readonly eventId: string;
  readonly evaluationKey: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly owner: string;
  readonly environment: string;
  readonly accountKnown: boolean;
  readonly region: string;
  readonly rule: string;
  readonly configRuleName: string;
  readonly ruleTitle: string;
  readonly ruleCategory: string;
  readonly ruleKnown: boolean;
  readonly severity: Severity;
  readonly severityRank: number;
  readonly scope: string;
  readonly inScope: boolean;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly compliance: string;
  readonly previousCompliance: string | null;
  readonly transition: Transition;
  readonly eventTime: string;
  readonly annotation: string | null;
  readonly evaluationMode: string | null;
  readonly findingId: string | null;
  /** stream (from AWS Config via Kinesis), reconcile (missed, found in the Config aggregator) or accounts (accounts sync). */
  readonly source: 'stream' | 'reconcile' | 'accounts';
}

/** The current state of one finding (one episode of non-compliance). */
export interface FindingDocument {
  readonly findingId: string;
  readonly evaluationKey: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly owner: string;
  readonly environment: string;
  readonly region: string;
  readonly rule: string;
  readonly configRuleName: string;
  readonly ruleTitle: string;
  readonly ruleCategory: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly severity: Severity;
  readonly severityRank: number;
  readonly annotation: string | null;
  readonly status: Finding['status'];
  readonly openedAt: string;
  readonly openedEventId: string;
  readonly deadline: string | null;
  /** Resolved: fixed after its deadline. Open: past its deadline when last written (queries use deadline < now). */
  readonly breached: boolean;
  readonly resolvedAt: string | null;
  readonly resolution: Finding['resolution'];
  readonly resolvedEventId: string | null;
  readonly timeToResolveMs: number | null;
  readonly timeToResolveHours: number | null;
  readonly lastEventId: string;
  readonly lastEventAt: string;
  readonly lastCompliance: string;
  readonly escalated?: boolean;
  readonly escalatedAt?: string | null;
  readonly lastReminderAt?: string | null;
  readonly reminderCount?: number;
  readonly excepted?: boolean;
  readonly exceptionId?: string | null;
  /** Written by the finding facts sync (finding-facts-sync.ts), as of its pass: open past the deadline, or resolved after it. */
  readonly slaBreached?: boolean;
  /** The escalation and each reminder sent to security, oldest first (finding facts sync). */
  readonly escalations?: readonly EscalationNotice[];
}

/** Escalation state kept in Postgres; written to the finding document when the Finding carries it. */
interface EscalationFields {
  readonly exceptionId?: string | null;
  readonly escalatedAt?: number | null;
  readonly lastReminderAt?: number | null;
  readonly reminderCount?: number;
}

/** TrackedEvent -> OpenSearch documents. Deterministic: the same event always gives the same documents. */
export const Documents = {
  event(tracked: TrackedEvent): EventDocument {
    const e = tracked.event;
    return {
      '@timestamp': new Date(e.orderingTime).toISOString(),
      eventId: e.eventId,
      evaluationKey: e.evaluationKey,
      accountId: e.accountId,
      accountName: e.accountName,
      owner: e.owner,
      environment: e.environment,
      accountKnown: e.accountKnown,
      region: e.region,
      rule: e.rule,
      configRuleName: e.configRuleName,
      ruleTitle: e.ruleTitle,
      ruleCategory: e.ruleCategory,
      ruleKnown: e.ruleKnown,
      severity: e.severity,
      severityRank: SeverityRank[e.severity],
      scope: e.scope,
      inScope: e.inScope,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      compliance: e.compliance,
      previousCompliance: e.previousCompliance,
      transition: tracked.transition,
      eventTime: e.eventTime,
      annotation: e.annotation,
      evaluationMode: e.evaluationMode,
      findingId: tracked.transition === 'stale' ? null : (tracked.finding?.findingId ?? null),
      source: e.source ?? 'stream',
    };
  },

  /**
   * The finding document this event writes, or null. Stale events never write one: they are older than what is stored
   * and would move the finding backwards. The last-event fields come from the finding once it is resolved, so a
   * document rebuilt from Postgres (a duplicate delivery, a redrive) after the resolution says what resolved it.
   */
  finding(tracked: TrackedEvent): FindingDocument | null {
    const f = tracked.finding;
    if (!f || tracked.transition === 'stale' || tracked.transition === 'recorded') return null;
    const e = tracked.event;
    const timeToResolveMs = f.resolvedAt !== null ? f.resolvedAt - f.openedAt : null;
    const breached = f.deadline !== null && (f.resolvedAt ?? e.orderingTime) > f.deadline;
    const escalation = f as Finding & EscalationFields;
    return {
      findingId: f.findingId,
      evaluationKey: f.evaluationKey,
      accountId: f.accountId,
      accountName: f.accountName,
      owner: f.owner,
      environment: f.environment,
      region: f.region,
      rule: f.rule,
      configRuleName: f.configRuleName,
      ruleTitle: f.ruleTitle,
      ruleCategory: e.ruleCategory,
      resourceType: f.resourceType,
      resourceId: f.resourceId,
      severity: f.severity,
      severityRank: SeverityRank[f.severity],
      annotation: f.annotation,
      status: f.status,
      openedAt: iso(f.openedAt),
      openedEventId: f.openedEventId,
      deadline: f.deadline !== null ? iso(f.deadline) : null,
      breached,
      resolvedAt: f.resolvedAt !== null ? iso(f.resolvedAt) : null,
      resolution: f.resolution,
      resolvedEventId: f.resolvedEventId,
      timeToResolveMs,
      timeToResolveHours: timeToResolveMs !== null ? Math.round(timeToResolveMs / 36_000) / 100 : null,
      lastEventId: f.resolvedEventId ?? e.eventId,
      lastEventAt: iso(f.resolvedAt ?? e.orderingTime),
      lastCompliance: f.resolution ?? e.compliance,
      ...(escalation.escalatedAt !== undefined
        ? { escalated: escalation.escalatedAt !== null, escalatedAt: escalation.escalatedAt !== null ? iso(escalation.escalatedAt) : null }
        : {}),
      ...(escalation.lastReminderAt !== undefined ? { lastReminderAt: escalation.lastReminderAt !== null ? iso(escalation.lastReminderAt) : null } : {}),
      ...(escalation.reminderCount !== undefined ? { reminderCount: escalation.reminderCount } : {}),
      ...(escalation.exceptionId !== undefined ? { excepted: escalation.exceptionId !== null, exceptionId: escalation.exceptionId } : {}),
    };
  },
} as const;

// Above every epoch-millisecond ordering time, below 2^53 (exact as a JSON number).
const ResolvedVersionBase = 2 ** 52;

/**
 * The external version of a finding document: by lifecycle, then time. Every resolved state outranks every open one,
 * so no write can flip a resolved finding back to open, whatever the order writes arrive in; within a phase the later
 * ordering time wins (an open finding's latest result, or the resolution). With `external_gte`, an equal version
 * (the same state written again) is accepted and a lower one is refused with 409, which counts as done.
 */
export function findingDocumentVersion(tracked: TrackedEvent): number {
  const f = tracked.finding;
  if (f?.status === 'resolved' && f.resolvedAt !== null) return ResolvedVersionBase + f.resolvedAt;
  return tracked.event.orderingTime;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
