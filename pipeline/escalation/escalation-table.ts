import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One notice to security about one finding: n = 0 is the escalation, n = k the k-th reminder; unique (finding_id, n). */
export interface EscalationsTable {
  readonly id: Generated<string>;
  readonly finding_id: string;
  readonly kind: 'escalation' | 'reminder';
  readonly n: number;
  readonly at: Timestamp;
  readonly channel: string;
  readonly owner: string;
  readonly account_id: string;
  readonly rule: string;
  readonly severity: string;
  readonly deadline: Timestamp;
}

export type EscalationTables = {
  readonly escalations: EscalationsTable;
};
