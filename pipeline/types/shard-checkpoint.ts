/** Proof that this worker still owns the shard; the checkpoint write fails without it. */
export interface ShardCheckpoint {
  readonly streamName: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly owner: string;
  readonly leaseToken: string;
}
