import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../store/database-schema.ts';
import type { ExceptionTables } from './exception-tables.ts';
import { exceptionCoversFinding, exceptionInForce } from './exception-matching.ts';
import { releaseFinding } from './release-finding.ts';
import type { ReleaseOutcome } from './release-finding.ts';

export interface ExceptionExpirySummary {
  /** Open findings whose exception ended and that another exception now covers. */
  readonly reassigned: number;
  /** Open findings live again, with a 'finding.realert' intent queued. */
  readonly realerted: number;
  /** Open findings live again whose pending 'finding.opened' alert will now go out. */
  readonly released: number;
  /** Open findings an exception in force covers but that were not marked yet (a race with `exception add`). */
  readonly applied: number;
  /** Exceptions whose expiry was written to the audit trail in this pass. */
  readonly expired: number;
}

/** Test seam: forces an interleaving with the notifier inside the release transaction. */
export interface ExceptionExpiryHooks {
  /** After the findings of a batch were released, before that transaction commits. */
  readonly beforeReleaseCommit?: () => Promise<void>;
}

export interface ExceptionExpiryOptions {
  readonly batchSize?: number;
  readonly logger?: Logger;
  readonly hooks?: ExceptionExpiryHooks;
}

/**
 * One pass of the exception job, safe with several workers at once (rows are claimed with SKIP LOCKED): findings of
 * expired or revoked exceptions become live again (or move to another exception in force), findings that an
 * exception in force covers but that escaped marking are marked, and each expiry is audited once.
 */
export async function expireExceptions(db: Kysely<Database>, now: number, signal: AbortSignal, options: ExceptionExpiryOptions = {}): Promise<ExceptionExpirySummary> {
  const store = db.withTables<ExceptionTables>();
  const batchSize = options.batchSize ?? 500;
  const at = new Date(now);
  const outcomes: Record<ReleaseOutcome, number> = { reassigned: 0, realerted: 0, released: 0 };
  let applied = 0;
  for (;;) {
    signal.throwIfAborted();
    const claimed = await store.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('findings as f')
        .innerJoin('risk_exceptions as e', 'e.id', 'f.exception_id')
        .selectAll('f')
        .where('f.status', '=', 'open')
        .where((eb) => eb.or([eb('e.revoked_at', 'is not', null), eb('e.until', '<=', at)]))
        .orderBy('f.finding_id')
        .limit(batchSize)
        .forUpdate('f')
        .skipLocked()
        .execute();
      for (const row of rows) outcomes[await releaseFinding(trx, row, now)]++;
      if (rows.length > 0) await options.hooks?.beforeReleaseCommit?.();
      return rows.length;
    });
    if (claimed < batchSize) break;
  }
  for (;;) {
    signal.throwIfAborted();
    const marked = await store.transaction().execute(async (trx) => {
      // Claim first (SKIP LOCKED) and then update by id: two workers updating the same rows in different orders deadlock.
      const candidates = await trx
        .selectFrom('findings as f')
        .select('f.finding_id')
        .where('f.status', '=', 'open')
        .where('f.exception_id', 'is', null)
        .where((eb) => eb.exists(eb.selectFrom('risk_exceptions as e').select('e.id').where(exceptionCoversFinding('e', 'f')).where(exceptionInForce('e', at))))
        .orderBy('f.finding_id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (candidates.length === 0) return 0;
      await trx
        .updateTable('findings as f')
        .set((eb) => ({
          exception_id: eb
            .selectFrom('risk_exceptions as e')
            .select('e.id')
            .where(exceptionCoversFinding('e', 'f'))
            .where(exceptionInForce('e', at))
            .orderBy('e.until', 'desc')
            .orderBy('e.id')
            .limit(1),
          updated_at: new Date(),
        }))
        .where('f.finding_id', 'in', candidates.map((c) => c.finding_id))
        .execute();
      return candidates.length;
    });
    applied += marked;
    if (marked < batchSize) break;
  }
  const expired = await sql<{ exception_id: string }>`
    insert into exception_audit (exception_id, action, actor, at, details)
    select e.id, 'expired', 'driftwatch', ${at}, jsonb_build_object('until', e.until)
    from risk_exceptions e
    where e.revoked_at is null and e.until <= ${at}
      and not exists (select 1 from exception_audit a where a.exception_id = e.id and a.action = 'expired')
    on conflict (exception_id, action) do nothing
    returning exception_id`.execute(store);
  const summary: ExceptionExpirySummary = { ...outcomes, applied, expired: expired.rows.length };
  if (summary.expired + summary.realerted + summary.reassigned + summary.released + summary.applied > 0) {
    options.logger?.info(summary, 'risk exceptions refreshed');
  }
  return summary;
}
