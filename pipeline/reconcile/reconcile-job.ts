import type { Logger } from 'pino';
import type { Settings } from '../../schemas/settings.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import { createOpenSearchClient } from '../sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../sinks/opensearch/config.ts';
import { AggregatorReader } from './aggregator-reader.ts';
import { createConfigClient } from './config-client.ts';
import { publishReconcileReport } from './reconcile-index.ts';
import type { ReconcileMetrics } from './reconcile-metrics.ts';
import { Reconciler } from './reconciler.ts';
import type { ReconcileOptions, ReconcileReport } from './reconciler.ts';

export class ReconcileConfigError extends Error {
  override readonly name = 'ReconcileConfigError';
}

export interface ReconcileJobOptions extends Partial<Pick<ReconcileOptions, 'rule' | 'account' | 'dryRun' | 'onProgress'>> {
  readonly metrics?: ReconcileMetrics;
}

/**
 * One reconcile as `driftwatch reconcile` and the schedule inside `run` do it: Config client from settings, the run
 * (resumed if one was interrupted), then its figures on /metrics and in OpenSearch.
 */
export async function runReconcileJob(
  runtime: Pick<Runtime, 'settings' | 'database' | 'createProcessor' | 'workerId'>,
  logger: Logger,
  options: ReconcileJobOptions,
  signal: AbortSignal,
): Promise<ReconcileReport> {
  const settings: Settings = runtime.settings;
  if (!settings.DRIFTWATCH_CONFIG_AGGREGATOR) throw new ReconcileConfigError('set DRIFTWATCH_CONFIG_AGGREGATOR to the name of the organization Config aggregator');
  const log = logger.child({ job: 'reconcile' });
  const client = createConfigClient(settings);
  let throttled = 0;
  try {
    const reader = new AggregatorReader(client, settings.DRIFTWATCH_CONFIG_AGGREGATOR, {
      signal,
      onRetry: (error, attempt, delayMs) => {
        throttled++;
        log.warn({ error: error.name, attempt, delayMs }, 'config call retried');
      },
    });
    const reconciler = new Reconciler({ runtime, reader, logger: log, throttled: () => throttled });
    const report = await reconciler.run(
      {
        ...(options.rule ? { rule: options.rule } : {}),
        ...(options.account ? { account: options.account } : {}),
        dryRun: options.dryRun ?? false,
        backfillNotify: settings.DRIFTWATCH_RECONCILE_BACKFILL,
        graceMs: settings.DRIFTWATCH_RECONCILE_GRACE_MS,
        owner: runtime.workerId,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
      signal,
    );
    const { tallies: _tallies, ...summary } = report;
    log.info(summary, 'reconcile finished');
    if (!report.dryRun) {
      options.metrics?.record(report);
      const openSearch = openSearchConfigFromSettings(settings);
      if (openSearch) {
        const search = createOpenSearchClient(openSearch);
        try {
          await publishReconcileReport(search, openSearch.indexPrefix, report);
        } catch (error) {
          log.error({ err: error }, 'reconcile figures not written to opensearch');
        } finally {
          await search.close();
        }
      }
    }
    return report;
  } finally {
    client.destroy();
  }
}
