/** The checkpoint write found another owner or a newer lease token: this worker must stop processing the shard. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly shardId: string;

  constructor(shardId: string, options?: ErrorOptions) {
    super(`lease on shard ${shardId} was lost; the batch was rolled back`, options);
    this.shardId = shardId;
  }
}
