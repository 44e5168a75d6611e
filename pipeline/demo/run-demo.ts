import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import type { Logger } from 'pino';
import { Settings } from '../../schemas/settings.ts';
import { createKinesisClient } from '../kinesis/kinesis-client.ts';
import { KinesisConsumer } from '../kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../kinesis/shard-lease-manager.ts';
import { BatchTotals } from '../replay/batch-totals.ts';
import { createRuntime } from '../runtime/create-runtime.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import type { BackgroundService } from '../types/background-service.ts';
import { createSyntheticOrg, generateTraffic } from './synthetic-org.ts';
import type { DeliveryKind } from './synthetic-org.ts';

export interface DemoOptions {
  readonly events: number;
  readonly shards: number;
  readonly accounts: number;
  readonly seed: number;
  readonly logger: Logger;
  readonly onProgress?: (progress: DemoProgress) => void;
  /** Extra services for the demo's runtime (the console notifier), started with the consumer. */
  readonly services?: (runtime: Runtime) => readonly BackgroundService[];
  readonly signal?: AbortSignal;
  /** Runs once the demo is done, before its embedded database closes (`demo --serve` keeps the console up in it). */
  readonly beforeClose?: (runtime: Runtime, summary: DemoSummary) => Promise<void>;
}

export interface DemoProgress {
  readonly produced: number;
  readonly processed: number;
  readonly total: number;
  readonly opened: number;
  readonly resolved: number;
  readonly deadLetters: number;
  readonly eventsPerSecond: number;
}

export interface DemoSummary {
  readonly organisation: { readonly accounts: number; readonly regions: number; readonly rules: number };
  readonly stream: { readonly shards: number; readonly records: number; readonly byKind: Readonly<Record<DeliveryKind, number>> };
  readonly processed: ReturnType<BatchTotals['toJSON']>;
  readonly findings: { readonly open: Record<string, number>; readonly resolved: Record<string, number> };
  readonly deadLetters: readonly { readonly reason: string; readonly count: number }[];
  readonly throughput: { readonly eventsPerSecond: number; readonly elapsedMs: number };
}

const StreamName = 'driftwatch-demo';

/**
 * The whole pipeline on embedded parts: kinesalite in this process, PGlite in memory, a synthetic organisation of
 * the origin case's shape producing drift, fixes, duplicates, out-of-order and malformed records, the real consumer.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1_000 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createKinesisClient({ region: 'us-east-1', endpoint });
  const dir = await mkdtemp(join(tmpdir(), 'driftwatch-demo-'));
  const org = createSyntheticOrg({ accounts: options.accounts, seed: options.seed });
  const accountsFile = join(dir, 'accounts.json');
  await writeFile(accountsFile, JSON.stringify({ defaults: { slackChannel: '#compliance-triage' }, accounts: org.accounts }));
  const settings = Settings.parse({ KINESIS_ENDPOINT: endpoint, KINESIS_STREAM: StreamName, DRIFTWATCH_ACCOUNTS: accountsFile, DRIFTWATCH_POLL_INTERVAL_MS: '200' });
  let runtime: Runtime | undefined;
  try {
    runtime = await createRuntime(settings, options.logger, { migrate: true });
    await client.send(new CreateStreamCommand({ StreamName, ShardCount: options.shards }));
    while ((await client.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus !== 'ACTIVE') {
      await new Promise((r) => setTimeout(r, 20));
    }
    const totals = new BatchTotals();
    const byKind: Record<DeliveryKind, number> = { event: 0, duplicate: 0, malformed: 0 };
    let produced = 0;
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const report = () =>
      options.onProgress?.({
        produced,
        processed: totals.records,
        total: options.events,
        opened: totals.opened,
        resolved: totals.resolved,
        deadLetters: totals.deadLetters,
        eventsPerSecond: Math.round(totals.ratePerSecond),
      });
    const rt = runtime;
    const consumer = new KinesisConsumer({
      client,
      streamName: StreamName,
      leases: new ShardLeaseManager(rt.database.db, { streamName: StreamName, owner: 'demo', leaseMs: 60_000 }),
      createProcessor: (shardId) => rt.createProcessor(shardId),
      batchLimit: 2_000,
      maxInFlight: 3,
      pollIntervalMs: 200,
      refreshIntervalMs: 1_000,
      logger: options.logger,
      onBatch: (_shardId, summary) => {
        totals.add(summary);
        report();
        if (produced === options.events && totals.records >= options.events) stop.abort();
      },
    });
    const consuming = consumer.run(signal);
    const services = (options.services?.(rt) ?? []).map((service) => service.run(signal).catch(() => undefined));
    const ticker = setInterval(report, 500);
    try {
      let chunk: { Data: Uint8Array; PartitionKey: string }[] = [];
      const flush = async () => {
        if (chunk.length === 0) return;
        const result = await client.send(new PutRecordsCommand({ StreamName, Records: chunk }));
        if (result.FailedRecordCount) throw new Error(`${result.FailedRecordCount} demo records were not accepted by Kinesis`);
        produced += chunk.length;
        chunk = [];
      };
      for (const delivery of generateTraffic(org, { deliveries: options.events, seed: options.seed })) {
        byKind[delivery.kind]++;
        chunk.push({ Data: delivery.data, PartitionKey: delivery.partitionKey });
        if (chunk.length === 500) await flush();
        if (signal.aborted) break;
      }
      await flush();
      if (totals.records >= options.events) stop.abort();
      await consuming;
      await Promise.all(services);
    } finally {
      clearInterval(ticker);
      stop.abort();
    }
    report();
    const summary = await summarize(rt, org, options, byKind, totals);
    await options.beforeClose?.(rt, summary);
    return summary;
  } finally {
    await runtime?.close();
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function summarize(
  runtime: Runtime,
  org: ReturnType<typeof createSyntheticOrg>,
  options: DemoOptions,
  byKind: Record<DeliveryKind, number>,
  totals: BatchTotals,
): Promise<DemoSummary> {
  const db = runtime.database.db;
  const rows = await db.selectFrom('findings').select(['status', 'severity', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['status', 'severity']).execute();
  const findings = { open: {} as Record<string, number>, resolved: {} as Record<string, number> };
  for (const row of rows) findings[row.status][row.severity] = Number(row.n);
  const letters = await db.selectFrom('dead_letters').select('reason').execute();
  const reasons = new Map<string, number>();
  for (const { reason } of letters) {
    const short = reason.replace(/: .*$/s, '').replace(/\b\d{3,}\b/g, 'N');
    reasons.set(short, (reasons.get(short) ?? 0) + 1);
  }
  return {
    organisation: { accounts: org.accounts.length, regions: org.regions.length, rules: org.rules.length },
    stream: { shards: options.shards, records: options.events, byKind },
    processed: totals.toJSON(),
    findings,
    deadLetters: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
    throughput: { eventsPerSecond: Math.round(totals.ratePerSecond), elapsedMs: totals.elapsedMs },
  };
}
