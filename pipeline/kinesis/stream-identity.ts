import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';

/**
 * Which stream a name points at right now. A stream deleted and recreated under the same name keeps its name and
 * its ARN but is a new stream (new shards, reusing the old shard ids): only the creation time tells them apart, as
 * KCL's `account:name:creationEpoch` stream identifier does.
 */
export interface StreamIdentity {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: Date;
  /** `<ARN>@<creation time>`: what shard leases are keyed by. */
  readonly id: string;
}

export async function describeStreamIdentity(client: KinesisClient, streamName: string, signal?: AbortSignal): Promise<StreamIdentity> {
  const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), signal ? { abortSignal: signal } : {});
  const description = summary.StreamDescriptionSummary;
  if (!description?.StreamARN || !description.StreamCreationTimestamp) {
    throw new Error(`DescribeStreamSummary of ${streamName} returned no ARN or creation time`);
  }
  const createdAt = new Date(description.StreamCreationTimestamp);
  return { name: streamName, arn: description.StreamARN, createdAt, id: `${description.StreamARN}@${createdAt.toISOString()}` };
}
