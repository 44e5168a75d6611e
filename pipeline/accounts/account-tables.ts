import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One AWS account as last synced from Organizations (migration 0007). Never deleted: REMOVED marks a departure. */
export interface AccountsTable {
  readonly account_id: string;
  readonly name: string;
  readonly email: string | null;
  readonly state: string;
  readonly environment: string;
  readonly environment_tag: string | null;
  readonly owner: string | null;
  readonly slack_channel: string | null;
  readonly ou_path: string | null;
  readonly tags: ColumnType<Record<string, string>, string, string>;
  readonly joined_at: Timestamp | null;
  readonly first_seen_at: Timestamp;
  readonly last_seen_at: Timestamp;
  readonly updated_at: Timestamp;
}

export interface AccountChangesTable {
  readonly id: Generated<string>;
  readonly sync_id: string;
  readonly account_id: string;
  readonly field: AccountField | 'added';
  readonly old_value: string | null;
  readonly new_value: string | null;
  readonly changed_at: Timestamp;
}

export interface AccountSyncsTable {
  readonly sync_id: string;
  readonly started_at: Timestamp;
  readonly finished_at: Timestamp;
  readonly accounts: number;
  readonly changes: number;
}

export type AccountField = 'name' | 'state' | 'environment' | 'owner' | 'slack_channel' | 'ou_path';

export type AccountTables = {
  readonly accounts: AccountsTable;
  readonly account_changes: AccountChangesTable;
  readonly account_syncs: AccountSyncsTable;
};
