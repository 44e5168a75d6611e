import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { seededRandom } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../../pipeline/demo/synthetic-org.ts';
import { createKinesisHandler } from '../../pipeline/lambda/kinesis-handler.ts';
import type { KinesisStreamEvent } from '../../pipeline/lambda/kinesis-stream-event.ts';
import { createOutboxHandler } from '../../pipeline/lambda/outbox-handler.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import type { Sink, WriteOutcome } from '../../pipeline/sinks/sink.ts';
import type { Batch } from '../../stages/stage.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { checkOpenSearch, checkPostgres, checkSlack, outboxDrained, trafficOf } from '../../drill/support/drill-checks.ts';
import type { DrillTraffic } from '../../drill/support/drill-checks.ts';
import { DrillConsumerSettings, SlackExpectations, drillTraffic } from '../../drill/support/drill-run.ts';
import { startLocalStack } from '../support/local-stack.ts';
import type { LocalStack } from '../support/local-stack.ts';
import { putRecords } from '../support/put-records.ts';
import { readShards, runMapping } from './event-source-mapping.ts';
import type { MappingStats } from './event-source-mapping.ts';

const logger = pino({ level: 'silent' });

/** A valid event with its own id whose resource id Postgres cannot store (JSON.stringify writes \u0000 and \ud83d escapes). */
function refused(data: Buffer, id: string, resourceId: string): Buffer {
  const event = JSON.parse(data.toString('utf8'));
  event.id = id;
  event.detail.resourceId = resourceId;
  return Buffer.from(JSON.stringify(event));
}
const StreamArn = 'arn:aws:kinesis:us-east-1:123456789012:stream/lambda-esm';

/** Faults planned by event id, each happening once: a sink failure, a sink that hangs past the time budget, a lost response. */
class FaultPlan {
  readonly failing = new Set<string>();
  readonly hanging = new Set<string>();
  readonly losing = new Set<string>();
  readonly happened = { failed: 0, hung: 0, lost: 0 };

  static idsOf(event: KinesisStreamEvent): string[] {
    return event.Records.flatMap((r) => {
      const match = /"id":"([^"]+)"/.exec(Buffer.from(r.kinesis.data, 'base64').toString('latin1'));
      return match ? [match[1]!] : [];
    });
  }

  /** Takes the first planned id of `ids` out of `set`. */
  static take(set: Set<string>, ids: readonly string[]): boolean {
    const hit = ids.find((id) => set.has(id));
    if (hit === undefined) return false;
    set.delete(hit);
    return true;
  }
}

/** A second sink beside OpenSearch that fails as planned (before the commit, so the whole batch must be retried). */
class FaultySink implements Sink<TrackedEvent> {
  readonly name = 'faulty';
  constructor(readonly plan: FaultPlan) {}
  async healthcheck(): Promise<void> {}
  async close(): Promise<void> {}
  async write(batch: Batch<TrackedEvent>, signal: AbortSignal): Promise<WriteOutcome> {
    const ids = batch.items.map((item) => item.value.event.eventId);
    if (FaultPlan.take(this.plan.failing, ids)) {
      this.plan.happened.failed++;
      return { status: 'errored', retriable: false, error: new Error('injected sink failure') };
    }
    if (FaultPlan.take(this.plan.hanging, ids)) {
      this.plan.happened.hung++;
      // Stalls like an unreachable sink: only the handler's time budget ends it.
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return { status: 'errored', retriable: true, error: new Error('injected stall') };
    }
    return { status: 'delivered' };
  }
}

describe('Lambda Kinesis handler under an event source mapping (ReportBatchItemFailures, bisect on error)', () => {
  let stack: LocalStack;
  let traffic: DrillTraffic;
  let poison: Delivery[];
  const plan = new FaultPlan();
  let stats: MappingStats[] = [];
  let maxConcurrent = 0;
  let shardsMoved = 0;
  let shortBudgetEvents = 0;

  beforeAll(async () => {
    const { org, deliveries } = drillTraffic(1_600, 37, { malformedRate: 0.01 });
    const event = (i: number) => deliveries.filter((d) => d.event)[i]!;
    // Poison beside the generator's malformed records: invalid UTF-8 inside an otherwise valid event, an oversize record.
    const valid = event(5);
    poison = [
      { kind: 'malformed', data: Buffer.concat([valid.data.subarray(0, valid.data.length - 1), Buffer.from(',"x":"\xff\xfe"}', 'latin1')]), partitionKey: valid.partitionKey },
      { kind: 'malformed', data: Buffer.from(`{"pad":"${'x'.repeat(300_000)}"}`), partitionKey: 'poison-oversize' },
      { kind: 'malformed', data: Buffer.from('{"version":"0","id":"poison","detail-type":"Config Rules Compliance Change"}'), partitionKey: 'poison-shape' },
      // Valid JSON that Postgres refuses (issue 9): a NUL in a text field, an unpaired surrogate escape. They must be
      // dead letters, never a batch the mapping retries forever.
      { kind: 'malformed', data: refused(event(7).data, 'poison-nul', 'bucket\u0000nul'), partitionKey: 'poison-nul' },
      { kind: 'malformed', data: refused(event(9).data, 'poison-surrogate', 'bucket-\ud83d'), partitionKey: 'poison-surrogate' },
    ];
    const all = [...deliveries.slice(0, 300), poison[0]!, poison[3]!, ...deliveries.slice(300, 900), poison[1]!, ...deliveries.slice(900), poison[4]!, poison[2]!];
    traffic = trafficOf(org, all);
    stack = await startLocalStack({ name: 'lambda-esm', shards: 4, org });
    await putRecords(stack.kinesis, stack.streamName, all);
    const random = seededRandom(41);
    const ids = [...traffic.uniqueEventIds];
    const pick = () => ids[Math.floor(random() * ids.length)]!;
    for (let i = 0; i < 4; i++) plan.failing.add(pick());
    for (let i = 0; i < 2; i++) plan.hanging.add(pick());
    for (let i = 0; i < 3; i++) plan.losing.add(pick());
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('processes every shard concurrently through retries, timeouts and bisection: nothing lost, nothing twice in Postgres, OpenSearch or Slack', async () => {
    const env = stack.consumerEnv(DrillConsumerSettings);
    const settings = loadSettings(env);
    // Six containers for four shards: each invocation takes an idle one, so a shard's batches move between containers.
    const containers = await Promise.all(
      Array.from({ length: 6 }, async () => ({
        busy: false,
        handler: createKinesisHandler({ env, logger, reserveMs: 2_000, runtime: { sinks: [(await createOpenSearchSink(settings, logger))!, new FaultySink(plan)] } }),
      })),
    );
    let inFlight = 0;
    let turn = 0;
    const lastContainer = new Map<string, number>();
    const invoke = async (event: KinesisStreamEvent, context: Parameters<(typeof containers)[number]['handler']>[1]) => {
      let index = -1;
      for (let i = 0; i < containers.length && index < 0; i++) {
        const candidate = (turn + i) % containers.length;
        if (!containers[candidate]!.busy) index = candidate;
      }
      turn++;
      const container = containers[index]!;
      const shard = event.Records[0]!.eventID.split(':')[0]!;
      if (lastContainer.has(shard) && lastContainer.get(shard) !== index) shardsMoved++;
      lastContainer.set(shard, index);
      container.busy = true;
      maxConcurrent = Math.max(maxConcurrent, ++inFlight);
      try {
        return await container.handler(event, context);
      } finally {
        inFlight--;
        container.busy = false;
      }
    };
    try {
      const shards = await readShards(stack.kinesis.client, stack.streamName);
      expect([...shards.values()].reduce((n, records) => n + records.length, 0)).toBe(traffic.deliveries.length);
      stats = await Promise.all(
        [...shards].map(([shardId, records]) =>
          runMapping(StreamArn, shardId, records, {
            batchSize: 100,
            bisectBatchOnFunctionError: true,
            maximumRetryAttempts: -1,
            invoke,
            // Lost after the handler committed: the mapping sees a function error, bisects and sends it all again.
            loseResponse: (event) => {
              const lost = FaultPlan.take(plan.losing, FaultPlan.idsOf(event));
              if (lost) plan.happened.lost++;
              return lost;
            },
            // A short budget for the batches whose sink will stall, so the handler must answer before its deadline.
            remainingMs: (event) => (FaultPlan.idsOf(event).some((id) => plan.hanging.has(id)) ? (shortBudgetEvents++, 5_000) : 60_000),
            maxInvocations: 500,
          }),
        ),
      );
    } finally {
      await Promise.all(containers.map((c) => c.handler.container.close()));
    }

    // The faults happened, so the checks below are about surviving them.
    expect(plan.happened).toEqual({ failed: 4, hung: 2, lost: 3 });
    expect(shortBudgetEvents).toBeGreaterThanOrEqual(2);
    const total = stats.reduce(
      (sum, s) => ({
        reported: sum.reported + s.reportedFailures,
        functionErrors: sum.functionErrors + s.functionErrors,
        timeouts: sum.timeouts + s.timeouts,
        bisections: sum.bisections + s.bisections,
      }),
      { reported: 0, functionErrors: 0, timeouts: 0, bisections: 0 },
    );
    // Each sink fault (the stalls too: answered within the budget, never a timeout) is one batch reported from its
    // first record; each lost response one function error, bisected.
    expect(total).toEqual({ reported: 6, functionErrors: 3, timeouts: 0, bisections: 3 });
    expect(stats.flatMap((s) => s.skipped)).toEqual([]);
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(shardsMoved).toBeGreaterThan(0);

    // The scheduled outbox function drains what the commits queued, over several runs if need be.
    const outbox = createOutboxHandler({ env, logger });
    try {
      for (let run = 0; run < 20 && !(await outboxDrained(stack.database.db)); run++) {
        await outbox({}, { awsRequestId: `outbox-${run}`, getRemainingTimeInMillis: () => 30_000 });
      }
    } finally {
      await outbox.container.close();
    }

    const checks = [
      ...(await checkPostgres(stack.database.db, traffic)),
      ...(await checkOpenSearch(stack.openSearchUrl!, stack.indexPrefix, traffic, stack.database.db)),
      ...(await checkSlack(stack.slack!, stack.database.db, SlackExpectations)),
    ];
    for (const check of checks) expect.soft(check.ok, `${check.name}: ${check.detail}`).toBe(true);
    expect(checks.length).toBeGreaterThanOrEqual(9);

    // The poison records are dead letters with their exact bytes, written by the Lambda consumer.
    const letters = await stack.database.db.selectFrom('dead_letters').select(['source', 'raw', 'reason']).execute();
    expect(new Set(letters.map((l) => l.source))).toEqual(new Set(['lambda']));
    for (const p of poison) expect(letters.some((l) => Buffer.from(l.raw).equals(p.data))).toBe(true);
    expect(letters.find((l) => Buffer.from(l.raw).equals(poison[0]!.data))!.reason).toBe('record is not valid UTF-8');
  }, 180_000);

  it('answers a runtime it cannot build with the first record of the batch as the failure, and an event that is not from Kinesis with an error', async () => {
    const broken = createKinesisHandler({ env: { ...stack.consumerEnv(), DATABASE_URL: undefined, DRIFTWATCH_DATA_DIR: undefined }, logger });
    const shards = await readShards(stack.kinesis.client, stack.streamName);
    const [shardId, records] = [...shards][0]!;
    const { mappingEvent } = await import('./event-source-mapping.ts');
    const response = await broken(mappingEvent(StreamArn, shardId, records.slice(3, 8)), { awsRequestId: 'x', getRemainingTimeInMillis: () => 10_000 });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[3]!.SequenceNumber! }] });
    await expect(broken({ Records: [{ body: 'an SQS message' }] }, { awsRequestId: 'y', getRemainingTimeInMillis: () => 10_000 })).rejects.toThrow(
      /^not a Kinesis event source mapping event: Records\.0\.kinesis/,
    );
    expect(await broken({ Records: [] }, { awsRequestId: 'z', getRemainingTimeInMillis: () => 10_000 })).toEqual({ batchItemFailures: [] });
  });
});
