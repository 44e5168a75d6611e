import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { EscalationTables } from './escalation-table.ts';

/** One notice to security, as a finding document shows it. */
export interface EscalationNotice {
  readonly kind: 'escalation' | 'reminder';
  readonly n: number;
  /** ISO 8601. */
  readonly at: string;
  readonly channel: string;
}

/**
 * The SLA side of a finding, for every place that shows one (the OpenSearch finding document, `driftwatch findings`):
 * flat, JSON-ready, ISO times.
 */
export interface EscalationFacts {
  readonly findingId: string;
  readonly deadline: string | null;
  /** Past its deadline while open, or resolved after it. */
  readonly slaBreached: boolean;
  readonly excepted: boolean;
  readonly exceptionId: string | null;
  readonly escalatedAt: string | null;
  readonly lastReminderAt: string | null;
  readonly reminderCount: number;
  readonly escalations: readonly EscalationNotice[];
}

/** Reads the escalation facts of some findings (missing ids are absent from the map). */
export async function loadEscalationFacts(db: Kysely<Database>, findingIds: readonly string[], now: number): Promise<Map<string, EscalationFacts>> {
  const facts = new Map<string, EscalationFacts>();
  if (findingIds.length === 0) return facts;
  const store = db.withTables<EscalationTables>();
  const ids = [...new Set(findingIds)];
  const [findings, notices] = await Promise.all([
    store
      .selectFrom('findings')
      .select(['finding_id', 'deadline', 'resolved_at', 'exception_id', 'escalated_at', 'last_reminder_at', 'reminder_count'])
      .where('finding_id', 'in', ids)
      .execute(),
    store.selectFrom('escalations').select(['finding_id', 'kind', 'n', 'at', 'channel']).where('finding_id', 'in', ids).orderBy('finding_id').orderBy('n').execute(),
  ]);
  const byFinding = new Map<string, EscalationNotice[]>();
  for (const notice of notices) {
    const list = byFinding.get(notice.finding_id) ?? [];
    list.push({ kind: notice.kind, n: notice.n, at: notice.at.toISOString(), channel: notice.channel });
    byFinding.set(notice.finding_id, list);
  }
  for (const row of findings) {
    const endedOrNow = row.resolved_at ? row.resolved_at.getTime() : now;
    facts.set(row.finding_id, {
      findingId: row.finding_id,
      deadline: row.deadline ? row.deadline.toISOString() : null,
      slaBreached: row.deadline !== null && endedOrNow > row.deadline.getTime(),
      excepted: row.exception_id !== null,
      exceptionId: row.exception_id,
      escalatedAt: row.escalated_at ? row.escalated_at.toISOString() : null,
      lastReminderAt: row.last_reminder_at ? row.last_reminder_at.toISOString() : null,
      reminderCount: row.reminder_count,
      escalations: byFinding.get(row.finding_id) ?? [],
    });
  }
  return facts;
}
