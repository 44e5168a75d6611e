import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import type { KinesisBatchResponse, KinesisStreamEvent, LambdaContext } from '../../pipeline/lambda/kinesis-stream-event.ts';

/** Every record of every shard of a stream, read from the Kinesis API as the mapping's poller does. */
export async function readShards(client: KinesisClient, streamName: string): Promise<Map<string, _Record[]>> {
  const shards = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const result = new Map<string, _Record[]>();
  for (const shard of shards.Shards ?? []) {
    const records: _Record[] = [];
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      records.push(...(page.Records ?? []));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
    result.set(shard.ShardId!, records);
  }
  return result;
}

/** The event a Kinesis event source mapping invokes its function with, for some records of one shard. */
export function mappingEvent(streamArn: string, shardId: string, records: readonly _Record[]): KinesisStreamEvent {
  return {
    Records: records.map((r) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        data: Buffer.from(r.Data!).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1_000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.SequenceNumber!}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/driftwatch-consumer',
      awsRegion: 'us-east-1',
      eventSourceARN: streamArn,
    })),
  };
}

export type Invoke = (event: KinesisStreamEvent, context: LambdaContext) => Promise<KinesisBatchResponse>;

export interface MappingOptions {
  readonly batchSize: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** Retries of one batch before it goes to the on-failure destination and is skipped; -1 = until it succeeds. */
  readonly maximumRetryAttempts: number;
  /** Picks the container (handler instance) for each invocation: any idle one, as Lambda does. */
  readonly invoke: (event: KinesisStreamEvent, context: LambdaContext) => Promise<KinesisBatchResponse>;
  /** Makes a successful invocation a function error after it ran (the response lost: a timeout or crash after the commit). */
  readonly loseResponse?: (event: KinesisStreamEvent) => boolean;
  readonly remainingMs?: (event: KinesisStreamEvent) => number;
  /** Safety stop for a test that went wrong: invocations of one shard at most. */
  readonly maxInvocations?: number;
}

export interface MappingStats {
  invocations: number;
  functionErrors: number;
  /** Invocations that answered after their deadline (counted in functionErrors too). */
  timeouts: number;
  reportedFailures: number;
  bisections: number;
  /** Ranges [first, last] of sequence numbers sent to the on-failure destination, i.e. skipped. */
  readonly skipped: [string, string][];
}

/**
 * A Kinesis event source mapping for one shard, after AWS's documented semantics with `ReportBatchItemFailures`:
 * batches in order, one at a time per shard; an empty `batchItemFailures` checkpoints the whole batch; a reported
 * failure checkpoints before the lowest sequence number reported and retries from it (with bisection on, the batch is
 * split at that record and only the rest is retried); a function error (thrown, timed out, response lost) retries the
 * batch, halved when `BisectBatchOnFunctionError` is on; past `maximumRetryAttempts` a batch is skipped.
 */
export async function runMapping(streamArn: string, shardId: string, records: readonly _Record[], options: MappingOptions): Promise<MappingStats> {
  const stats: MappingStats = { invocations: 0, functionErrors: 0, timeouts: 0, reportedFailures: 0, bisections: 0, skipped: [] };
  const pending: { start: number; end: number; retries: number }[] = [];
  let next = 0;
  const limit = options.maxInvocations ?? 10_000;
  while (pending.length > 0 || next < records.length) {
    if (stats.invocations >= limit) throw new Error(`mapping for ${shardId} gave up after ${limit} invocations`);
    let range = pending.shift();
    if (!range) {
      range = { start: next, end: Math.min(next + options.batchSize, records.length), retries: 0 };
      next = range.end;
    }
    const batch = records.slice(range.start, range.end);
    const event = mappingEvent(streamArn, shardId, batch);
    const remaining = options.remainingMs?.(event) ?? 60_000;
    const deadline = Date.now() + remaining;
    stats.invocations++;
    let response: KinesisBatchResponse | null = null;
    try {
      response = await options.invoke(event, { awsRequestId: `${shardId}-${stats.invocations}`, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) });
      // Past its deadline Lambda would have stopped the function: a timeout is a function error, whatever it returned.
      if (Date.now() > deadline) {
        stats.timeouts++;
        response = null;
      } else if (response.batchItemFailures.length === 0 && options.loseResponse?.(event)) {
        response = null;
      }
    } catch {
      response = null;
    }
    const retry = (start: number) => {
      const again = { start, end: range.end, retries: range.retries + 1 };
      if (options.maximumRetryAttempts >= 0 && again.retries > options.maximumRetryAttempts) {
        stats.skipped.push([records[start]!.SequenceNumber!, records[range.end - 1]!.SequenceNumber!]);
        return;
      }
      pending.unshift(again);
    };
    if (response === null) {
      stats.functionErrors++;
      if (options.bisectBatchOnFunctionError && batch.length > 1) {
        const middle = range.start + Math.ceil(batch.length / 2);
        stats.bisections++;
        // Halves keep the retry count of the batch they came from, as the mapping counts them.
        pending.unshift({ start: range.start, end: middle, retries: range.retries + 1 }, { start: middle, end: range.end, retries: range.retries + 1 });
      } else {
        retry(range.start);
      }
      continue;
    }
    if (response.batchItemFailures.length === 0) continue;
    stats.reportedFailures++;
    const index = Math.min(
      ...response.batchItemFailures.map((f) => {
        const at = batch.findIndex((r) => r.SequenceNumber === f.itemIdentifier);
        // An identifier that names no record of the batch makes the mapping treat the whole batch as failed.
        return at < 0 ? 0 : at;
      }),
    );
    retry(range.start + index);
  }
  return stats;
}
