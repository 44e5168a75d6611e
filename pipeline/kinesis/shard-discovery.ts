import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';

export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  /** A closed shard (after a split or merge) has an ending sequence number and children to read after it. */
  readonly closed: boolean;
}

/**
 * Every shard of the stream, open and closed (closed parents must be finished before their children start). With
 * `createdAt`, Kinesis lists that incarnation of the stream only (a stream recreated under the same name is another).
 */
export async function listAllShards(client: KinesisClient, streamName: string, signal?: AbortSignal, createdAt?: Date): Promise<ShardInfo[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      nextToken
        ? new ListShardsCommand({ NextToken: nextToken })
        : new ListShardsCommand({ StreamName: streamName, ...(createdAt ? { StreamCreationTimestamp: createdAt } : {}) }),
      signal ? { abortSignal: signal } : {},
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return shards.map((shard) => ({
    shardId: shard.ShardId!,
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => Boolean(id)),
    closed: Boolean(shard.SequenceNumberRange?.EndingSequenceNumber),
  }));
}
