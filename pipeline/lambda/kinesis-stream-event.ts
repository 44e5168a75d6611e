import { z } from 'zod';

/**
 * One record of a Kinesis event source mapping's event. `data` is the record's bytes, base64; `eventID` is
 * `<shardId>:<sequenceNumber>`.
 *
 * @example
 * { kinesis: { kinesisSchemaVersion: '1.0', partitionKey: 'sg-0a1b2c3d', sequenceNumber: '4959033827149025660855969253836157', data: 'eyJ2ZXJzaW9uIjoiMCJ9', approximateArrivalTimestamp: 1772619322.404 },
 *   eventSource: 'aws:kinesis', eventVersion: '1.0', eventID: 'shardId-000000000006:4959033827149025660855969253836157', eventName: 'aws:kinesis:record',
 *   invokeIdentityArn: 'arn:aws:iam::123456789012:role/driftwatch-consumer', awsRegion: 'eu-west-1', eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/driftwatch-compliance' }
 */
export const KinesisStreamRecord = z.object({
  kinesis: z.object({
    kinesisSchemaVersion: z.string(),
    partitionKey: z.string(),
    sequenceNumber: z.string().regex(/^\d+$/),
    data: z.string(),
    approximateArrivalTimestamp: z.number(),
  }),
  eventSource: z.literal('aws:kinesis'),
  eventVersion: z.string(),
  eventID: z.string().regex(/^shardId-[^:]+:\d+$/),
  eventName: z.literal('aws:kinesis:record'),
  invokeIdentityArn: z.string(),
  awsRegion: z.string(),
  eventSourceARN: z.string(),
});
export type KinesisStreamRecord = z.infer<typeof KinesisStreamRecord>;

/**
 * What a Kinesis event source mapping invokes the function with: one batch of one shard's records, in order.
 *
 * @example
 * { Records: [KinesisStreamRecord, ...] }
 */
export const KinesisStreamEvent = z.object({ Records: z.array(KinesisStreamRecord) });
export type KinesisStreamEvent = z.infer<typeof KinesisStreamEvent>;

/**
 * The answer with `ReportBatchItemFailures`: empty = the whole batch is done; otherwise the mapping checkpoints
 * before the lowest sequence number listed and retries from there.
 */
export interface KinesisBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** The parts of the Lambda context object the handlers use. */
export interface LambdaContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** The shard of a record: the part of its eventID before the colon. */
export function shardOf(record: KinesisStreamRecord): string {
  return record.eventID.slice(0, record.eventID.indexOf(':'));
}
