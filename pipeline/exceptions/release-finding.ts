import type { Selectable, Transaction } from 'kysely';
import type { Database, FindingsTable } from '../store/database-schema.ts';
import { findingFromRow } from '../store/postgres-evaluation-state-store.ts';
import type { ExceptionTables } from './exception-tables.ts';
import { exceptionCoversFinding, exceptionInForce } from './exception-matching.ts';
import { wakeOutbox } from '../notify/outbox-wakeup.ts';

export type ReleaseOutcome = 'reassigned' | 'realerted' | 'released';

/** What the Slack notifier is asked when a risk acceptance ends and the finding is still open. */
export interface RealertIntent {
  readonly kind: 'finding.realert';
  readonly finding: ReturnType<typeof findingFromRow>;
  readonly reason: 'exception-expired';
  /** The exception that stopped covering the finding (expired or revoked). */
  readonly exceptionId: string;
}

/**
 * An open finding (locked by the caller) whose exception no longer holds: another exception in force takes over
 * (reassigned, still silent), or the finding is live again and a 'finding.realert' intent is queued in the same
 * transaction. When its 'finding.opened' intent is still pending, that alert will go out now that the finding is
 * no longer excepted, so no second alert is queued (released).
 */
export async function releaseFinding(trx: Transaction<Database & ExceptionTables>, row: Selectable<FindingsTable>, now: number): Promise<ReleaseOutcome> {
  const at = new Date(now);
  const replacement = await trx
    .selectFrom('risk_exceptions as e')
    .innerJoin('findings as f', (join) => join.on('f.finding_id', '=', row.finding_id))
    .select('e.id')
    .where(exceptionCoversFinding('e', 'f'))
    .where(exceptionInForce('e', at))
    .orderBy('e.until', 'desc')
    .orderBy('e.id')
    .limit(1)
    .executeTakeFirst();
  await trx
    .updateTable('findings')
    .set({ exception_id: replacement?.id ?? null, updated_at: new Date() })
    .where('finding_id', '=', row.finding_id)
    .execute();
  if (replacement) return 'reassigned';
  // Locked until this transaction commits: a notifier claims with SKIP LOCKED, so it cannot take the pending alert
  // now, read the finding as still excepted (this change is not committed yet) and settle it as suppressed.
  const opened = await trx
    .selectFrom('notification_outbox')
    .select('status')
    .where('intent_id', '=', `${row.finding_id}:finding.opened`)
    .forUpdate()
    .executeTakeFirst();
  if (opened?.status === 'pending') return 'released';
  const intent: RealertIntent = {
    kind: 'finding.realert',
    finding: findingFromRow({ ...row, exception_id: null }),
    reason: 'exception-expired',
    exceptionId: row.exception_id ?? '',
  };
  await trx
    .insertInto('notification_outbox')
    .values({
      // One re-alert per finding and ended exception: a second exception that lapses later alerts again.
      intent_id: `${row.finding_id}:finding.realert:${intent.exceptionId}`,
      finding_id: row.finding_id,
      kind: intent.kind,
      payload: JSON.stringify(intent),
    })
    .onConflict((oc) => oc.column('intent_id').doNothing())
    .execute();
  await wakeOutbox(trx);
  return 'realerted';
}
