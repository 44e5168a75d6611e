import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { BackgroundService } from '../types/background-service.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import { runReconcileJob } from './reconcile-job.ts';
import type { ReconcileMetrics } from './reconcile-metrics.ts';
import { ReconcileBusyError, ReconcileStore } from './reconcile-store.ts';
import { StaleRunMs } from './reconciler.ts';

/**
 * Reconciliation inside `driftwatch run`: due when the last finished run is older than the interval, or when a run was
 * interrupted (its owner died: resumed once its heartbeat is stale). Any worker may run it; one run at a time.
 */
export function createReconcileSchedule(runtime: Pick<Runtime, 'settings' | 'database' | 'createProcessor' | 'workerId'>, logger: Logger, metrics?: ReconcileMetrics): BackgroundService {
  const intervalMs = runtime.settings.DRIFTWATCH_RECONCILE_INTERVAL_MS;
  const store = new ReconcileStore(runtime.database.db);
  const log = logger.child({ job: 'reconcile-schedule' });
  return {
    name: 'reconcile-schedule',
    async run(signal: AbortSignal): Promise<void> {
      const last = await store.lastFinished().catch(() => undefined);
      if (last && metrics) metrics.lastRun.set(new Date(last.finished_at!).getTime() / 1_000);
      while (!signal.aborted) {
        let waitMs = Math.min(intervalMs, StaleRunMs);
        try {
          const running = await store.running();
          const finished = await store.lastFinished();
          const dueAt = finished ? new Date(finished.finished_at!).getTime() + intervalMs : 0;
          const resumable = running && (running.owner === runtime.workerId || Date.now() - new Date(running.heartbeat_at).getTime() > StaleRunMs);
          if (resumable || (!running && Date.now() >= dueAt)) {
            await runReconcileJob(runtime, logger, metrics ? { metrics } : {}, signal);
          } else if (!running) {
            waitMs = Math.min(Math.max(1_000, dueAt - Date.now()), StaleRunMs);
          }
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ReconcileBusyError) log.info({ reason: error.message }, 'reconcile runs elsewhere');
          else log.error({ err: error }, 'reconcile failed; it resumes from its cursor at the next attempt');
        }
        await sleep(waitMs, undefined, { signal }).catch(() => undefined);
      }
    },
  };
}
