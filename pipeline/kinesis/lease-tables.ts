import type { ColumnType } from 'kysely';
import type { ShardLeasesTable } from '../store/database-schema.ts';

/** Columns migration 0006 adds to shard_leases: the stream's identity (the key, with shard_id) and shard expiry. */
export interface StreamIdentityColumns {
  readonly stream_id: string;
  readonly expired_at: ColumnType<Date, Date | string | undefined, Date | string> | null;
}

// A type alias, not an interface: Kysely's withTables<T>() needs an index-compatible record.
export type LeaseTables = {
  readonly shard_leases: ShardLeasesTable & StreamIdentityColumns;
};
