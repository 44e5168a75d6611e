import type { ColumnType } from 'kysely';
import type { NotificationOutboxTable } from '../store/database-schema.ts';

/** Columns migration 0002 adds to the outbox: seq orders intents, ordering_key keeps one key's intents in order. */
export interface OutboxOrderColumns {
  readonly seq: ColumnType<string, never, never>;
  readonly ordering_key: ColumnType<string, never, never>;
}

// A type alias, not an interface: Kysely's withTables<T>() needs an index-compatible record.
export type OutboxTables = {
  readonly notification_outbox: NotificationOutboxTable & OutboxOrderColumns;
};
