import type { Logger } from 'pino';
import type { Settings } from '../../schemas/settings.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { BatchProcessor } from '../processor/batch-processor.ts';
import { buildStageChain } from '../processor/build-stage-chain.ts';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.ts';
import type { ProcessorHooks } from '../processor/processor-hooks.ts';
import type { Sink } from '../sinks/sink.ts';
import { StateCommitter } from '../sinks/postgres/state-committer.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { checkSchemaVersion } from '../store/check-schema-version.ts';
import { describeDatabaseError } from '../store/database-error.ts';
import { openDatabase } from '../store/open-database.ts';
import type { StateDatabase } from '../store/open-database.ts';
import { PostgresEvaluationStateStore } from '../store/postgres-evaluation-state-store.ts';
import { createOpenSearchSink } from '../sinks/opensearch/create-opensearch-sink.ts';
import { openSearchMigrationHook } from '../sinks/opensearch/opensearch-migration-hook.ts';
import { defaultWorkerId } from './worker-id.ts';
import { AccountRegistrySource } from '../accounts/account-registry-source.ts';
import { loadAccountFile } from '../config/load-account-file.ts';
import { loadRuleCatalog } from '../config/load-rule-catalog.ts';
import { loadSlaPolicy } from '../config/load-sla-policy.ts';

/** Everything a command needs, built once from settings. */
export interface Runtime {
  readonly settings: Settings;
  readonly logger: Logger;
  readonly database: StateDatabase;
  readonly catalog: RuleCatalog;
  readonly accounts: AccountRegistry;
  /** Refreshes `accounts` from Postgres (synced from Organizations) + the DRIFTWATCH_ACCOUNTS file. */
  readonly accountSource: AccountRegistrySource;
  readonly sla: SlaPolicy;
  readonly stateCommitter: StateCommitter;
  readonly sinks: Sink<TrackedEvent>[];
  readonly workerId: string;
  /** Extra steps of `driftwatch migrate` beyond SQL (OpenSearch templates); each returns lines to report. */
  readonly migrationHooks: readonly (() => Promise<string[]>)[];
  createProcessor(shardId: string): BatchProcessor;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Extra idempotent sinks (OpenSearch) written before each state commit. */
  readonly sinks?: readonly Sink<TrackedEvent>[];
  /**
   * Apply pending migrations first (only `migrate`, `run` and `demo` do: they are the commands allowed DDL). Otherwise
   * the schema version is checked and an older database stops the command with "run driftwatch migrate". The
   * embedded database (no DATABASE_URL) is always migrated: it is local and usually in memory.
   */
  readonly migrate?: boolean;
  /** `migrate` itself: neither migrate nor check here. */
  readonly skipSchemaCheck?: boolean;
  readonly migrationHooks?: readonly (() => Promise<string[]>)[];
  readonly metrics?: PipelineMetrics;
  /** Test hooks of every processor this runtime creates (forced interleavings between writers). */
  readonly processorHooks?: ProcessorHooks;
}

export async function createRuntime(settings: Settings, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const [catalog, accountFile, sla] = await Promise.all([
    loadRuleCatalog(settings.DRIFTWATCH_RULE_CATALOG),
    loadAccountFile(settings.DRIFTWATCH_ACCOUNTS),
    loadSlaPolicy(settings.DRIFTWATCH_SLA_POLICY),
  ]);
  const accounts = new AccountRegistry(accountFile);
  const database = await openDatabase({
    ...(settings.DATABASE_URL ? { url: settings.DATABASE_URL } : {}),
    ...(settings.DRIFTWATCH_DATA_DIR ? { dataDir: settings.DRIFTWATCH_DATA_DIR } : {}),
    poolSize: settings.DATABASE_POOL_SIZE,
  });
  try {
    if (options.migrate === true || (database.kind === 'embedded' && options.skipSchemaCheck !== true)) {
      const applied = await migrateToLatest(database.db);
      if (applied.length > 0) logger.info({ applied, database: database.description }, 'migrations applied');
    } else if (options.skipSchemaCheck !== true) {
      await checkSchemaVersion(database.db);
    }
  } catch (error) {
    await database.close();
    throw settings.DATABASE_URL ? describeDatabaseError(error, settings.DATABASE_URL) : error;
  }
  // Accounts synced from Organizations (issue 11) under the file's per-account overrides; `migrate` opens the database before the table exists.
  const accountSource = new AccountRegistrySource(database.db, settings.DRIFTWATCH_ACCOUNTS, accounts);
  if (options.skipSchemaCheck !== true) await accountSource.refresh();
  const stateCommitter = new StateCommitter(database.db);
  const stateStore = new PostgresEvaluationStateStore(database.db);
  // Without explicit sinks (tests pass their own), the configured ones: OpenSearch when OPENSEARCH_URL is set, the
  // Firehose archive when FIREHOSE_DELIVERY_STREAM is set.
  const openSearch = options.sinks ? null : await createOpenSearchSink(settings, logger);
  // Imported only when configured: the SDK client is not loaded by every command.
  const firehose =
    options.sinks || !settings.FIREHOSE_DELIVERY_STREAM ? null : (await import('../sinks/firehose/create-firehose-sink.ts')).createFirehoseSink(settings, logger);
  const sinks: Sink<TrackedEvent>[] = options.sinks ? [...options.sinks] : [openSearch, firehose].filter((sink): sink is NonNullable<typeof sink> => sink !== null);
  const openSearchHook = options.migrationHooks ? null : openSearchMigrationHook(settings, logger);
  const migrationHooks = options.migrationHooks ?? (openSearchHook ? [openSearchHook] : []);
  return {
    settings,
    logger,
    database,
    catalog,
    accounts,
    accountSource,
    sla,
    stateCommitter,
    sinks,
    workerId: settings.DRIFTWATCH_WORKER_ID ?? defaultWorkerId(),
    migrationHooks,
    createProcessor: (shardId) =>
      new BatchProcessor({
        chain: buildStageChain({
          catalog,
          accounts,
          sla,
          stateStore,
          maxRecordBytes: settings.DRIFTWATCH_MAX_RECORD_BYTES,
          stateCacheSize: settings.DRIFTWATCH_STATE_CACHE_SIZE,
        }),
        stateCommitter,
        sinks,
        logger: logger.child({ shardId }),
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.processorHooks ? { hooks: options.processorHooks } : {}),
      }),
    close: async () => {
      await Promise.allSettled(sinks.map((sink) => sink.close()));
      await database.close();
    },
  };
}
