import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One reconciliation run (migration 0007): its cursor is `next_account` into the fixed `accounts` list. */
export interface ReconcileRunsTable {
  readonly run_id: string;
  readonly status: 'running' | 'finished' | 'failed';
  readonly backfill: boolean;
  readonly notify: 'alert' | 'digest' | 'silent';
  readonly rule_filter: string | null;
  readonly account_filter: string | null;
  readonly dry_run: boolean;
  readonly started_at: Timestamp;
  readonly finished_at: Timestamp | null;
  readonly accounts: ColumnType<string[], string, string>;
  readonly next_account: number;
  readonly heartbeat_at: Timestamp;
  readonly owner: string;
  readonly error: string | null;
}

/** What a run found and did, per account and rule. */
export interface ReconcileTalliesTable {
  readonly run_id: string;
  readonly account_id: string;
  readonly rule: string;
  readonly evaluations: number;
  readonly unchanged: number;
  readonly differences: number;
  readonly opened: number;
  readonly resolved: number;
  readonly newer_in_store: number;
  readonly gone: number;
}

export type ReconcileTables = {
  readonly reconcile_runs: ReconcileRunsTable;
  readonly reconcile_tallies: ReconcileTalliesTable;
};
