import { getHeapStatistics } from 'node:v8';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { createKinesisClient } from '../../kinesis/kinesis-client.ts';
import { memoryShardCapacity } from '../../kinesis/memory-shard-capacity.ts';
import { KinesisConsumer } from '../../kinesis/kinesis-consumer.ts';
import { ShardLeaseManager } from '../../kinesis/shard-lease-manager.ts';
import { BatchTotals } from '../../replay/batch-totals.ts';
import type { BackgroundService } from '../../types/background-service.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';
import { ProcessedEventsPruner } from '../../store/processed-events-pruner.ts';
import { PipelineMetrics } from '../../metrics/pipeline-metrics.ts';
import { MetricsServer } from '../../metrics/metrics-server.ts';
import { createScheduler } from '../../escalation/create-scheduler.ts';
import { SystemClock } from '../../clock/clock.ts';
import { createNotifier } from '../../notify/create-notifier.ts';
import { OutboxListener } from '../../notify/outbox-listener.ts';
import { createFindingFactsSync } from '../../sinks/opensearch/finding-facts-sync.ts';
import { parsePositiveInt } from './findings-command.ts';
import { wholeNumber } from '../parse-options.ts';
import { formatCount } from '../output/format-table.ts';
import { batchSummaryLines } from '../output/batch-summary.ts';
import { describeOutboxDrain, waitForOutbox } from '../output/outbox-drain.ts';
import { createAccountsService } from '../../accounts/accounts-service.ts';
import { createReconcileSchedule } from '../../reconcile/reconcile-schedule.ts';
import { ReconcileMetrics } from '../../reconcile/reconcile-metrics.ts';

export function registerRunCommand(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('consume the Kinesis stream until stopped (SIGINT/SIGTERM stop cleanly)')
    .option('--max-shards <n>', 'hold at most this many shard leases (share a stream between workers)', parsePositiveInt)
    .option('--until-caught-up', 'stop once every shard has been read up to its tip and the notifications are out; print a summary')
    .option('--drain-timeout <seconds>', 'with --until-caught-up: how long to wait for pending notifications', wholeNumber(0, 3_600), 60)
    .action(async (options: { maxShards?: number; untilCaughtUp?: boolean; drainTimeout: number }) => {
      const settings = context.settings();
      const logger = context.logger();
      const metrics = new PipelineMetrics();
      const runtime = await context.runtime({ metrics, migrate: true });
      const stop = stopOnSignals((signal) => logger.info({ signal }, 'stopping'));
      const client = createKinesisClient({ region: settings.AWS_REGION, ...(settings.KINESIS_ENDPOINT ? { endpoint: settings.KINESIS_ENDPOINT } : {}) });
      const totals = new BatchTotals();
      // This process's claims on the outbox (told apart from a dead worker's when draining before exit).
      const notifierOwner = `${hostname()}-${process.pid}-run`;
      const outboxListener = runtime.database.kind === 'postgres' && settings.DATABASE_URL ? new OutboxListener({ connectionString: settings.DATABASE_URL, logger }) : null;
      const services: BackgroundService[] = [
        new ProcessedEventsPruner(runtime.database.db, settings.DRIFTWATCH_PROCESSED_RETENTION_DAYS, logger.child({ job: 'prune' })),
        // Exception expiry, escalation of overdue findings and the daily compliance snapshot: safe on every worker.
        createScheduler({
          db: runtime.database.db,
          sla: runtime.sla,
          clock: new SystemClock(),
          logger,
          securityChannel: settings.SLACK_SECURITY_CHANNEL,
          intervalMs: settings.DRIFTWATCH_SCHEDULE_INTERVAL_MS,
          report: {
            channel: settings.SLACK_REPORT_CHANNEL,
            day: /^\d+$/.test(settings.DRIFTWATCH_REPORT_DAY) ? Number(settings.DRIFTWATCH_REPORT_DAY) : (settings.DRIFTWATCH_REPORT_DAY as 'first-business-day' | 'off'),
            hour: settings.DRIFTWATCH_REPORT_HOUR,
            accountName: (id) => {
              const { account, known } = runtime.accounts.lookup(id);
              return known ? account.name : undefined;
            },
          },
        }),
        // Slack (or the console without a token) drains the outbox on its own loop: it never stalls the stream. Woken
        // by the state commit through LISTEN/NOTIFY (Postgres only; the embedded database keeps polling).
        createNotifier(settings, runtime.database.db, logger, runtime.catalog, { owner: notifierOwner, ...(outboxListener ? { wakeup: outboxListener } : {}) }),
      ];
      if (outboxListener) services.push(outboxListener);
      // Issue 11: the account registry (Organizations sync, refresh on every worker) and reconciliation with the aggregator.
      services.push(createAccountsService(runtime, logger));
      if (settings.DRIFTWATCH_CONFIG_AGGREGATOR && settings.DRIFTWATCH_RECONCILE_INTERVAL_MS > 0) {
        services.push(createReconcileSchedule(runtime, logger, new ReconcileMetrics(metrics.registry)));
      }
      // Escalation and exception facts onto the OpenSearch finding documents, when OpenSearch is configured.
      const factsSync = createFindingFactsSync(settings, runtime.database.db, logger);
      if (factsSync) services.push(factsSync);
      try {
        await runtime.stateCommitter.healthcheck();
        // `migrate` steps beyond SQL (OpenSearch templates) also run at start; each is idempotent.
        for (const hook of runtime.migrationHooks) for (const line of await hook()) logger.info({ detail: line }, 'migration step');
        await Promise.all(runtime.sinks.map((sink) => sink.healthcheck(stop.signal)));
        // Never more shards than the heap holds: the launcher's default heap is small (bin/node-flags.mjs).
        const memoryCapacity = memoryShardCapacity({
          batchLimit: settings.DRIFTWATCH_BATCH_LIMIT,
          maxInFlight: settings.DRIFTWATCH_MAX_IN_FLIGHT,
          stateCacheSize: settings.DRIFTWATCH_STATE_CACHE_SIZE,
        });
        const maxShards = Math.min(options.maxShards ?? Number.MAX_SAFE_INTEGER, memoryCapacity);
        if (maxShards === memoryCapacity) {
          logger.info({ maxShards, heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) }, 'shard leases bounded by the heap: add workers, or raise it with DRIFTWATCH_NODE_FLAGS');
        }
        const consumer = new KinesisConsumer({
          client,
          streamName: settings.KINESIS_STREAM,
          leases: new ShardLeaseManager(runtime.database.db, {
            streamName: settings.KINESIS_STREAM,
            owner: runtime.workerId,
            leaseMs: settings.DRIFTWATCH_LEASE_MS,
            maxShards,
          }),
          createProcessor: (shardId) => runtime.createProcessor(shardId),
          batchLimit: settings.DRIFTWATCH_BATCH_LIMIT,
          maxInFlight: settings.DRIFTWATCH_MAX_IN_FLIGHT,
          pollIntervalMs: settings.DRIFTWATCH_POLL_INTERVAL_MS,
          refreshIntervalMs: Math.max(1_000, Math.floor(settings.DRIFTWATCH_LEASE_MS / 3)),
          logger,
          metrics,
          onBatch: (_shardId, summary) => totals.add(summary),
          stopWhenCaughtUp: options.untilCaughtUp ?? false,
        });
        if (settings.DRIFTWATCH_METRICS_PORT !== undefined) {
          const server = new MetricsServer({
            port: settings.DRIFTWATCH_METRICS_PORT,
            host: settings.DRIFTWATCH_METRICS_HOST,
            metrics,
            logger,
            beforeScrape: async () => {
              // Lag is read live, so it keeps growing while a shard is stalled (it is set before the query can fail).
              metrics.shardLag.reset();
              for (const [shard, lagMs] of consumer.shardLags()) metrics.shardLag.set({ shard }, lagMs);
              const rows = await runtime.database.db
                .selectFrom('notification_outbox')
                .select(['status', (eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.min('created_at').as('oldest')])
                .where('status', 'in', ['pending', 'claimed', 'failed'])
                .groupBy('status')
                .execute();
              const waiting = rows.filter((row) => row.status !== 'failed');
              metrics.outboxDepth.set(waiting.reduce((sum, row) => sum + Number(row.n), 0));
              const oldest = Math.min(...waiting.map((row) => new Date(row.oldest as unknown as string).getTime()));
              metrics.outboxOldest.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1_000) : 0);
              metrics.outboxFailed.set(Number(rows.find((row) => row.status === 'failed')?.n ?? 0));
            },
            health: async () => {
              const database = await runtime.stateCommitter.healthcheck().then(() => 'ok', (error: unknown) => (error as Error).message);
              return {
                healthy: database === 'ok' && !stop.signal.aborted,
                database,
                shards: consumer.runningShards,
                lagMs: Object.fromEntries(consumer.shardLags()),
                ...totals.toJSON(),
              };
            },
          });
          await server.listen();
          services.push(server);
        }
        // The web console beside the consumer when DRIFTWATCH_CONSOLE_PORT is set (read-only, same state store); loaded
        // only then, so a worker without it starts no slower.
        const webConsole = context.env.DRIFTWATCH_CONSOLE_PORT
          ? await (await import('../../console/console-server.ts')).ConsoleServer.forRun(context.env, runtime, logger)
          : null;
        if (webConsole) {
          await webConsole.listen();
          services.push(webConsole);
        }
        const progress = setInterval(() => logger.info({ ...totals.toJSON(), shards: consumer.runningShards.length, memory: memoryInMiB() }, 'progress'), 10_000);
        progress.unref();
        const background = services.map((service) =>
          service.run(stop.signal).catch((error: unknown) => logger.error({ err: error, service: service.name }, 'background service failed')),
        );
        await consumer.run(stop.signal);
        // Caught up: let the notifier (still running) deliver what the backlog queued, within a bound.
        const drained = options.untilCaughtUp ? await waitForOutbox(runtime.database.db, { timeoutMs: options.drainTimeout * 1_000, signal: stop.signal, owner: notifierOwner }) : null;
        clearInterval(progress);
        stop.abort(new Error('consumer finished'));
        await Promise.all(background);
        logger.info(totals.toJSON(), 'stopped');
        if (drained) {
          context.stdout.write(
            [`Caught up: ${formatCount(totals.records)} record(s) in ${(totals.elapsedMs / 1_000).toFixed(1)} s`, ...batchSummaryLines(totals), describeOutboxDrain(drained, options.drainTimeout * 1_000), ''].join('\n'),
          );
        }
      } finally {
        client.destroy();
        await runtime.close();
      }
    });
}

/** Resident memory and its parts, in MiB, for the progress log (backpressure bounds them, the backlog does not). */
function memoryInMiB(): Record<string, number> {
  const usage = process.memoryUsage();
  const mib = (bytes: number) => Math.round(bytes / 1_048_576);
  return { rss: mib(usage.rss), heapUsed: mib(usage.heapUsed), heapTotal: mib(usage.heapTotal), external: mib(usage.external), arrayBuffers: mib(usage.arrayBuffers) };
}
