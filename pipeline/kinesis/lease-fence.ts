import type { ExpressionBuilder, ExpressionWrapper, SqlBool } from 'kysely';
import type { Database } from '../store/database-schema.ts';

/** Who may write a shard's lease row: its owner, with the fencing token of its current acquisition. */
export interface LeaseFence {
  readonly streamName: string;
  readonly shardId: string;
  readonly owner: string;
  readonly leaseToken: string;
}

/**
 * The fencing condition on shard_leases, written once: every lease write of the lease manager and the state commit's
 * lease check and checkpoint use it. A worker whose lease was taken (a new token) matches no row, so it writes nothing.
 */
export function heldLease(fence: LeaseFence) {
  return (eb: ExpressionBuilder<Database, 'shard_leases'>): ExpressionWrapper<Database, 'shard_leases', SqlBool> =>
    eb.and([
      eb('stream_name', '=', fence.streamName),
      eb('shard_id', '=', fence.shardId),
      eb('owner', '=', fence.owner),
      eb('lease_token', '=', fence.leaseToken),
    ]);
}
