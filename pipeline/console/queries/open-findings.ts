import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import type { Finding, FindingNaming } from '../../../stages/track/finding.ts';

/** An open finding as the boards list it, with the risk exception that covers it (if any). */
export interface OpenFinding extends Pick<Finding, FindingNaming> {
  readonly owner: string;
  readonly severity: string;
  readonly openedAt: Date;
  readonly deadline: Date | null;
  readonly escalatedAt: Date | null;
  readonly exception: { readonly id: string; readonly until: Date; readonly by: string; readonly reason: string } | null;
}

/**
 * One page of findings matching `condition` (over alias `f`), soonest deadline first: the order of the operators' work,
 * and the order of the (owner, deadline) and (rule, deadline) indexes of migration 0008.
 */
export async function selectOpenFindings(db: Kysely<Database>, condition: RawBuilder<unknown>, limit: number, offset = 0): Promise<OpenFinding[]> {
  const rows = await sql<{
    finding_id: string; account_id: string; account_name: string; region: string; rule: string; rule_title: string; owner: string;
    resource_type: string; resource_id: string; severity: string; opened_at: Date; deadline: Date | null; escalated_at: Date | null;
    exception_id: string | null; exception_until: Date | null; exception_by: string | null; exception_reason: string | null;
  }>`
    select f.finding_id, f.account_id, f.account_name, f.region, f.rule, f.rule_title, f.owner, f.resource_type, f.resource_id,
      f.severity, f.opened_at, f.deadline, f.escalated_at, f.exception_id,
      e.until as exception_until, e.created_by as exception_by, e.reason as exception_reason
    from findings f
    left join risk_exceptions e on e.id = f.exception_id
    where ${condition}
    order by f.deadline asc nulls last, f.finding_id
    limit ${limit} offset ${offset}`.execute(db);
  return rows.rows.map((r) => ({
    findingId: r.finding_id,
    accountId: r.account_id,
    accountName: r.account_name,
    region: r.region,
    rule: r.rule,
    ruleTitle: r.rule_title,
    owner: r.owner,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    severity: r.severity,
    openedAt: new Date(r.opened_at),
    deadline: r.deadline === null ? null : new Date(r.deadline),
    escalatedAt: r.escalated_at === null ? null : new Date(r.escalated_at),
    exception:
      r.exception_id !== null && r.exception_until !== null
        ? { id: r.exception_id, until: new Date(r.exception_until), by: r.exception_by ?? '', reason: r.exception_reason ?? '' }
        : null,
  }));
}
