import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { listAllShards } from '../../pipeline/kinesis/shard-discovery.ts';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import { ShardWorker } from '../../pipeline/kinesis/shard-worker.ts';
import { describeStreamIdentity } from '../../pipeline/kinesis/stream-identity.ts';
import { Backoff } from '../../pipeline/runtime/backoff.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { complianceEvent } from '../support/events.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { capturedLogger } from '../support/captured-logger.ts';

const BatchSize = 5;
// The first batch's commit fails this many times before it goes through; then the second batch's commit fails once.
const FirstBatchFailures = 3;
const BaseMs = 20;

describe('the shard worker backs off between rewinds and starts again from the base delay after a committed batch', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let runtime: Runtime;
  let commits = 0;
  const lines: { msg: string; retryInMs?: number }[] = [];

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, KINESIS_ENDPOINT: kinesis.endpoint }), pino({ level: 'silent' }), {
      sinks: [],
      processorHooks: {
        beforeCommit: async () => {
          commits++;
          // A dropped connection (transient: never counted towards isolating the records), on the first batch's first
          // attempts and on the second batch's first attempt.
          if (commits <= FirstBatchFailures || commits === FirstBatchFailures + 2) throw Object.assign(new Error('connection reset by the test'), { code: 'ECONNRESET' });
        },
      },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await database?.drop();
    await kinesis?.close();
  });

  it('after a streak of failures and a commit, the next failure waits the base delay, not the escalated one', async () => {
    await kinesis.createStream('backoff', 1);
    const at = Date.parse('2026-03-04T10:00:00Z');
    const ids = Array.from({ length: 2 * BatchSize }, (_, i) => `event-${i}`);
    const sequences = await kinesis.put('backoff', ids.map((id, i) => ({ data: JSON.stringify(complianceEvent({ id, resourceId: `r-${i}`, compliance: 'NON_COMPLIANT', at })), partitionKey: 'one' })));

    const leases = new ShardLeaseManager(runtime.database.db, { streamName: 'backoff', owner: 'backoff-test', leaseMs: 60_000 });
    const stream = await describeStreamIdentity(kinesis.client, 'backoff');
    await leases.useStream(stream);
    await leases.sync(await listAllShards(kinesis.client, 'backoff', undefined, stream.createdAt));
    const [lease] = await leases.acquire(new Set());
    // Jitter fixed at its ceiling: each delay is the policy's bound for that attempt, base * 2^(attempt - 1).
    const backoff = new Backoff({ baseMs: BaseMs, maxMs: 60_000 }, () => 1);
    const stop = new AbortController();
    const settled: string[] = [];
    const logger = capturedLogger(lines);
    const worker = new ShardWorker({
      client: kinesis.client,
      streamName: 'backoff',
      lease: lease!,
      leases,
      processor: runtime.createProcessor(lease!.shardId),
      batchLimit: BatchSize,
      maxInFlight: 1,
      pollIntervalMs: 50,
      logger,
      backoff,
      onBatch: (_shardId, summary) => {
        settled.push(`${summary.records}`);
        if (settled.length === 2) stop.abort();
      },
    });
    await worker.run(AbortSignal.any([stop.signal, AbortSignal.timeout(30_000)]));

    expect(settled).toEqual([`${BatchSize}`, `${BatchSize}`]);
    const delays = lines.filter((line) => line.msg === 'shard processing failed, rewinding to checkpoint').map((line) => line.retryInMs);
    // 20, 40, 80 over the first batch's streak; its commit resets the backoff, so the second batch's failure waits
    // 20 again (160 if the streak were remembered).
    expect(delays).toEqual([BaseMs, 2 * BaseMs, 4 * BaseMs, BaseMs]);
    expect(backoff.attempts).toBe(0);
    const row = await runtime.database.db.selectFrom('shard_leases').select('checkpoint').where('stream_name', '=', 'backoff').executeTakeFirstOrThrow();
    expect(row.checkpoint).toBe(sequences.at(-1));
  }, 60_000);
});
