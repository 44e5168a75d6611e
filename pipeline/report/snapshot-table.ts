import type { ColumnType } from 'kysely';

/** Per day, account and rule: evaluated in-scope rule-resource pairs and how many were compliant (last pass of the day wins). */
export interface ComplianceSnapshotsTable {
  /** YYYY-MM-DD in the SLA calendar's timezone; read back with `day::text`. */
  readonly day: ColumnType<string, string, string>;
  readonly account_id: string;
  readonly rule: string;
  readonly evaluated: number;
  readonly compliant: number;
  readonly non_compliant: number;
  readonly excepted: number;
  readonly taken_at: ColumnType<Date, Date | string, Date | string>;
}

export type SnapshotTables = {
  readonly compliance_snapshots: ComplianceSnapshotsTable;
};
