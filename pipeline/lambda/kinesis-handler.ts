import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import { describeIssues } from '../../schemas/describe-issues.ts';
import { ContainerRuntime } from './container-runtime.ts';
import type { ContainerRuntimeOptions } from './container-runtime.ts';
import { KinesisStreamEvent, shardOf } from './kinesis-stream-event.ts';
import type { KinesisBatchResponse, KinesisStreamRecord, LambdaContext } from './kinesis-stream-event.ts';

export class KinesisEventError extends Error {
  override readonly name = 'KinesisEventError';
}

export interface KinesisHandlerOptions extends ContainerRuntimeOptions {
  /** Time kept back from the invocation's deadline to answer with batch item failures instead of timing out. */
  readonly reserveMs?: number;
}

export type KinesisHandler = (event: unknown, context: LambdaContext) => Promise<KinesisBatchResponse>;

/** Dead letters written by the Lambda consumer carry this source (the `run` consumer's say `kinesis`). */
export const LambdaSource = 'lambda';

/**
 * The stage chain of `driftwatch run` as the handler of a Kinesis event source mapping with `ReportBatchItemFailures`.
 *
 * One commit per invocation batch: the records go through decode -> dedupe -> enrich -> scope -> track, every sink
 * (OpenSearch, Firehose), then ONE Postgres transaction, as a batch of `run` does, without a checkpoint (the mapping
 * keeps it). When anything fails before that commit, nothing of the batch is stored, so the first record of the
 * shard's batch is reported as the batch item failure and the mapping retries from it: no record after it is ever
 * skipped. Retries and bisection are idempotent: processed event ids in Postgres drop what an earlier attempt
 * committed (the response may have been lost after the commit), OpenSearch ids are deterministic, Slack intents are
 * keyed. The work stops `reserveMs` before the deadline (a stalled sink would otherwise time the function out, which
 * the mapping counts as a function error and bisects).
 *
 * A fresh processor per invocation, on purpose: without shard leases another container may have processed this
 * shard's previous batch, so the stages' per-shard caches (evaluation states, recent ids) cannot be trusted from one
 * invocation to the next; evaluation states are read from Postgres each time. The runtime (Postgres pool, sinks)
 * lives as long as the container.
 */
export function createKinesisHandler(options: KinesisHandlerOptions = {}): KinesisHandler & { readonly container: ContainerRuntime } {
  const container = new ContainerRuntime(options);
  const handler = async (event: unknown, context: LambdaContext): Promise<KinesisBatchResponse> => {
    const parsed = KinesisStreamEvent.safeParse(event);
    // Not from a Kinesis mapping: a function error, so a misconfigured trigger is loud.
    if (!parsed.success) throw new KinesisEventError(`not a Kinesis event source mapping event: ${describeIssues(parsed.error.issues)}`);
    const byShard = new Map<string, KinesisStreamRecord[]>();
    for (const record of parsed.data.Records) {
      const shard = shardOf(record);
      const list = byShard.get(shard) ?? [];
      list.push(record);
      byShard.set(shard, list);
    }
    if (byShard.size === 0) return { batchItemFailures: [] };
    const logger = container.logger.child({ requestId: context.awsRequestId });
    const remaining = context.getRemainingTimeInMillis();
    const reserve = options.reserveMs ?? Math.min(10_000, Math.max(1_000, Math.round(remaining * 0.1)));
    const signal = AbortSignal.timeout(Math.max(remaining - reserve, 1));
    const failures: { itemIdentifier: string }[] = [];
    try {
      let runtime: Runtime;
      try {
        runtime = await container.get();
      } catch (error) {
        // No runtime (settings, database unreachable): every shard's batch is retried from its first record.
        logger.error({ err: error }, 'lambda runtime unavailable');
        for (const records of byShard.values()) failures.push({ itemIdentifier: records[0]!.kinesis.sequenceNumber });
        return { batchItemFailures: failures };
      }
      // A mapping sends one shard per batch; several are handled each on its own, so one shard's failure holds back no other.
      for (const [shardId, records] of byShard) {
        const started = performance.now();
        const items: Item<RawRecord>[] = records.map((record) => ({
          origin: { shardId, sequenceNumber: record.kinesis.sequenceNumber },
          value: { data: Buffer.from(record.kinesis.data, 'base64') },
        }));
        const shardLogger = logger.child({ shardId });
        try {
          const summary = await runtime.createProcessor(shardId).process(shardId, items, null, LambdaSource, signal);
          const last = records[records.length - 1]!;
          shardLogger.info(
            {
              records: summary.records,
              accepted: summary.accepted,
              duplicates: summary.duplicates,
              opened: summary.opened,
              resolved: summary.resolved,
              deadLetters: summary.deadLetters,
              ms: Math.round(performance.now() - started),
              iteratorAgeMs: Math.max(0, Date.now() - Math.round(last.kinesis.approximateArrivalTimestamp * 1_000)),
            },
            'lambda batch committed',
          );
        } catch (error) {
          failures.push({ itemIdentifier: items[0]!.origin.sequenceNumber });
          shardLogger.error(
            { err: error, records: items.length, firstSequenceNumber: items[0]!.origin.sequenceNumber, timedOut: signal.aborted },
            'lambda batch failed, reported for retry from its first record',
          );
        }
      }
      return { batchItemFailures: failures };
    } finally {
      // Logs are written asynchronously: flush before the container is frozen.
      await new Promise<void>((resolve) => container.logger.flush(() => resolve()));
    }
  };
  return Object.assign(handler, { container });
}

/** The entry point of the Kinesis consumer function (`dist/lambda/kinesis-handler/index.mjs`, export `handler`). */
export const handler = createKinesisHandler();
