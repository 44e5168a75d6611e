import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';

export interface SnapshotSummary {
  readonly day: string;
  /** (account, rule) rows written. */
  readonly rows: number;
}

/**
 * Records today's compliance per account and rule from the current evaluations: evaluated = in-scope rule-resource
 * pairs that are COMPLIANT or NON_COMPLIANT (NOT_APPLICABLE, INSUFFICIENT_DATA and deleted resources are not
 * evaluated), excepted = non-compliant pairs whose open finding a risk exception covers. Run repeatedly through the
 * day, the last pass wins, so a day's row is its state at (about) the end of the day: the history the monthly report
 * needs, since evaluations only hold the present. `day` is YYYY-MM-DD in the SLA calendar's timezone.
 */
export async function takeComplianceSnapshot(db: Kysely<Database>, day: string, now: number): Promise<SnapshotSummary> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`snapshot day must be YYYY-MM-DD, got ${day}`);
  const result = await sql<{ account_id: string }>`
    insert into compliance_snapshots (day, account_id, rule, evaluated, compliant, non_compliant, excepted, taken_at)
    select ${day}::date, e.account_id, e.rule,
      count(*) filter (where e.in_scope and e.compliance in ('COMPLIANT', 'NON_COMPLIANT'))::int,
      count(*) filter (where e.in_scope and e.compliance = 'COMPLIANT')::int,
      count(*) filter (where e.in_scope and e.compliance = 'NON_COMPLIANT')::int,
      count(*) filter (where e.in_scope and e.compliance = 'NON_COMPLIANT' and f.exception_id is not null)::int,
      ${new Date(now)}
    from evaluations e
    left join findings f on f.finding_id = e.open_finding_id and f.status = 'open'
    group by e.account_id, e.rule
    on conflict (day, account_id, rule) do update set
      evaluated = excluded.evaluated,
      compliant = excluded.compliant,
      non_compliant = excluded.non_compliant,
      excepted = excluded.excepted,
      taken_at = excluded.taken_at
    -- Two workers racing: the older pass must not overwrite the newer one.
    where compliance_snapshots.taken_at <= excluded.taken_at
    returning account_id`.execute(db);
  return { day, rows: result.rows.length };
}
