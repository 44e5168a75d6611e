import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 15: what the web console reads often. A team's board lists its open findings soonest deadline first (one
 * index range, already in order, instead of sorting every open finding of the team); a finding's page lists every
 * episode of its evaluation key (without this, a scan of all findings); a rule's page trends that rule's snapshots.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    create index findings_open_owner_deadline on findings (owner, deadline, finding_id) where status = 'open';
    create index findings_evaluation_key on findings (evaluation_key, opened_at);
    create index compliance_snapshots_rule_day on compliance_snapshots (rule, day);
  `);
}
