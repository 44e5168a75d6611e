import type { Kysely } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import type { SnapshotTables } from '../../report/snapshot-table.ts';
import type { ExceptionTables } from '../../exceptions/exception-tables.ts';
import type { EscalationTables } from '../../escalation/escalation-table.ts';
import type { SlackNotifierTables } from '../../notify/slack/slack-tables.ts';
import { round2 } from '../../report/report-builder.ts';

/** Every table the console reads: the state store plus what the notifier, the SLA jobs and the report add. */
export type ConsoleDatabase = Kysely<Database & SnapshotTables & ExceptionTables & EscalationTables & SlackNotifierTables>;

export function consoleDatabase(db: Kysely<Database>): ConsoleDatabase {
  return db.withTables<SnapshotTables & ExceptionTables & EscalationTables & SlackNotifierTables>();
}

export const Severities = ['Critical', 'High', 'Medium', 'Low'] as const;

/** Open findings split the way every board shows them: open (not excepted), of which overdue, and excepted. */
export interface OpenCounts {
  readonly open: number;
  readonly overdue: number;
  readonly excepted: number;
}

export const NoOpenFindings: OpenCounts = { open: 0, overdue: 0, excepted: 0 };

/** Compliance rate in percent, rounded as the monthly report rounds it; null when nothing was evaluated. */
export function complianceRate(evaluated: number, compliant: number): number | null {
  return round2(evaluated > 0 ? (100 * compliant) / evaluated : null);
}
