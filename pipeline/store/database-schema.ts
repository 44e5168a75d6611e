import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface EvaluationsTable {
  readonly evaluation_key: string;
  readonly account_id: string;
  readonly region: string;
  readonly rule: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly compliance: string;
  readonly ordering_time: Timestamp;
  readonly event_id: string;
  readonly in_scope: boolean;
  readonly open_finding_id: string | null;
  readonly updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface FindingsTable {
  readonly finding_id: string;
  readonly evaluation_key: string;
  readonly account_id: string;
  readonly account_name: string;
  readonly region: string;
  readonly rule: string;
  readonly config_rule_name: string;
  readonly rule_title: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly severity: string;
  readonly environment: string;
  readonly owner: string;
  readonly slack_channel: string;
  readonly annotation: string | null;
  readonly status: 'open' | 'resolved';
  readonly opened_at: Timestamp;
  readonly opened_event_id: string;
  readonly deadline: Timestamp | null;
  readonly resolved_at: Timestamp | null;
  readonly resolution: string | null;
  readonly resolved_event_id: string | null;
  /** Set while an active risk exception covers the finding: no alerts, no escalation. */
  readonly exception_id: string | null;
  readonly escalated_at: Timestamp | null;
  readonly last_reminder_at: Timestamp | null;
  readonly reminder_count: Generated<number>;
  readonly created_at: CreatedAt;
  readonly updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ShardLeasesTable {
  readonly stream_name: string;
  readonly shard_id: string;
  readonly parent_shard_ids: string[];
  readonly owner: string | null;
  readonly lease_token: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  readonly lease_expires_at: Timestamp | null;
  readonly checkpoint: string | null;
  readonly finished: Generated<boolean>;
  readonly updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface DeadLettersTable {
  readonly id: Generated<string>;
  readonly source: string;
  readonly shard_id: string;
  readonly sequence_number: string;
  readonly stage: string;
  readonly reason: string;
  readonly raw: Uint8Array;
  /** Hash of where the letter came from and its bytes (migration 0005): the same bad record is stored once. */
  readonly letter_key: string;
  readonly status: Generated<'pending' | 'redriven' | 'failed-again'>;
  readonly attempts: Generated<number>;
  readonly created_at: CreatedAt;
  readonly redriven_at: Timestamp | null;
}

export interface ProcessedEventsTable {
  readonly event_id: string;
  readonly processed_at: CreatedAt;
  /** The event's first effect (migration 0005; null on older rows): what a duplicate or a redrive re-indexes. */
  readonly transition: string | null;
  readonly finding_id: string | null;
}

export interface NotificationOutboxTable {
  readonly intent_id: string;
  readonly finding_id: string;
  readonly kind: string;
  readonly payload: ColumnType<unknown, string, string>;
  readonly status: Generated<'pending' | 'claimed' | 'sent' | 'failed' | 'suppressed'>;
  readonly attempts: Generated<number>;
  readonly available_at: ColumnType<Date, Date | string | undefined, Date | string>;
  readonly claimed_by: string | null;
  readonly claimed_until: Timestamp | null;
  readonly completed_at: Timestamp | null;
  readonly last_error: string | null;
  readonly created_at: CreatedAt;
}

/** Tables of driftwatch's state store. Later migrations extend it (see pipeline/store/migrations). */
export interface Database {
  readonly evaluations: EvaluationsTable;
  readonly findings: FindingsTable;
  readonly shard_leases: ShardLeasesTable;
  readonly dead_letters: DeadLettersTable;
  readonly processed_events: ProcessedEventsTable;
  readonly notification_outbox: NotificationOutboxTable;
}
