import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Logger } from 'pino';
import type { Batch } from '../../../stages/stage.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import type { RejectedItem, Sink, WriteOutcome } from '../sink.ts';
import { archiveRecord, packPutCalls } from './archive-records.ts';
import type { PutCall } from './archive-records.ts';
import type { FirehoseConfig } from './config.ts';
import { checkFirehoseHealth } from './healthcheck.ts';
import { decidePutRetry } from './retry.ts';
import type { PutDecision } from './retry.ts';

export interface FirehoseSinkOptions {
  readonly client: FirehoseClient;
  readonly config: FirehoseConfig;
  readonly logger: Logger;
}

export class FirehoseRequestError extends Error {
  override readonly name = 'FirehoseRequestError';
}

/**
 * Archives each tracked event as one line of JSON to a Firehose stream (which buffers to S3, GZIP, for Athena), so
 * the compliance history outlives OpenSearch's retention.
 *
 * A batch is acknowledged only when every record is stored: records Firehose refused for now (per-record
 * ServiceUnavailableException / InternalFailure, FailedPutCount > 0) are returned for retry, and only those are
 * resent; a throttled or unreachable service is a retriable error; deliver() owns the backoff. Records that can
 * never go (over 1,000 KiB) are rejected into dead letters before any call. Firehose is at-least-once (a resent call
 * may store a record twice), so every record carries its event id for readers to deduplicate.
 */
export class FirehoseSink implements Sink<TrackedEvent> {
  readonly name = 'firehose';
  readonly #client: FirehoseClient;
  readonly #config: FirehoseConfig;
  readonly #logger: Logger;

  constructor(options: FirehoseSinkOptions) {
    this.#client = options.client;
    this.#config = options.config;
    this.#logger = options.logger.child({ sink: this.name });
  }

  async healthcheck(signal: AbortSignal): Promise<void> {
    await checkFirehoseHealth(this.#client, this.#config.deliveryStream, signal);
  }

  async write(batch: Batch<TrackedEvent>, signal: AbortSignal): Promise<WriteOutcome> {
    const rejected: RejectedItem[] = [];
    const records: { item: number; data: Uint8Array }[] = [];
    batch.items.forEach((item, index) => {
      const data = archiveRecord(item.value);
      if (data.byteLength > this.#config.bytesPerRecord) {
        rejected.push({ index, reason: `firehose record is ${data.byteLength} bytes, over the ${this.#config.bytesPerRecord}-byte limit of a Firehose record` });
      } else {
        records.push({ item: index, data });
      }
    });
    const calls = packPutCalls(records, this.#config);
    const retry: number[] = [];
    for (let c = 0; c < calls.length; c++) {
      const call = calls[c]!;
      const decision = await this.#put(call, signal);
      if (decision.kind === 'ok') continue;
      if (decision.kind === 'partial') {
        for (const index of decision.retry) retry.push(call.items[index]!);
        this.#logger.warn({ shardId: batch.shardId, retrying: decision.retry.length, reason: decision.reason }, 'firehose refused records');
        continue;
      }
      const error = new FirehoseRequestError(`firehose PutRecordBatch to ${this.#config.deliveryStream} failed: ${decision.reason}`);
      if (decision.kind === 'fail') {
        this.#logger.error({ shardId: batch.shardId, error: error.message }, 'firehose put failed');
        return { status: 'errored', retriable: false, error };
      }
      // Throttled or unreachable: stop here (the next calls would fare the same) and resend what is not stored.
      if (c === 0 && rejected.length === 0) return { status: 'errored', retriable: true, error };
      for (const later of calls.slice(c)) retry.push(...later.items);
      this.#logger.warn({ shardId: batch.shardId, error: error.message, retrying: retry.length }, 'firehose put failed');
      break;
    }
    if (retry.length === 0 && rejected.length === 0) return { status: 'delivered' };
    if (rejected.length > 0) this.#logger.warn({ shardId: batch.shardId, rejected: rejected.length, reasons: rejected.slice(0, 3).map((r) => r.reason) }, 'firehose rejected records');
    return { status: 'partial', retry, rejected };
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #put(call: PutCall, signal: AbortSignal): Promise<PutDecision> {
    if (signal.aborted) return { kind: 'retry-request', reason: 'aborted' };
    try {
      const output = await this.#client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: this.#config.deliveryStream, Records: call.records.map((data) => ({ Data: data })) }),
        { abortSignal: signal },
      );
      return decidePutRetry({ kind: 'response', sent: call.records.length, failedPutCount: output.FailedPutCount, responses: output.RequestResponses });
    } catch (error) {
      return decidePutRetry({ kind: 'exception', error });
    }
  }
}
