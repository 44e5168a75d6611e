import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface RiskExceptionsTable {
  readonly id: string;
  readonly rule: string;
  /** Null = every account. */
  readonly account_id: string | null;
  /** Null = every resource. */
  readonly resource_id: string | null;
  readonly until: Timestamp;
  readonly reason: string;
  readonly created_by: string;
  readonly created_at: Timestamp;
  readonly revoked_at: Timestamp | null;
  readonly revoked_by: string | null;
  readonly revoke_reason: string | null;
}

/** Append-only (a trigger refuses updates and deletes): who accepted, revoked, or let lapse which risk, and when. */
export interface ExceptionAuditTable {
  readonly id: Generated<string>;
  readonly exception_id: string;
  readonly action: 'created' | 'revoked' | 'expired';
  readonly actor: string;
  readonly at: Timestamp;
  readonly details: ColumnType<unknown, string, never>;
}

/** Tables of migration 0003 that risk exceptions use; see `withExceptionTables`. */
export type ExceptionTables = {
  readonly risk_exceptions: RiskExceptionsTable;
  readonly exception_audit: ExceptionAuditTable;
};
