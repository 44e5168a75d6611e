import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../store/database-schema.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { Clock } from '../clock/clock.ts';
import type { BackgroundService } from '../types/background-service.ts';
import { expireExceptions } from '../exceptions/exception-expiry.ts';
import type { ExceptionExpirySummary } from '../exceptions/exception-expiry.ts';
import { takeComplianceSnapshot } from '../report/compliance-snapshot.ts';
import type { SnapshotSummary } from '../report/compliance-snapshot.ts';
import { Escalator } from './escalator.ts';
import { runMonthlyReportJob } from '../report/monthly-report-job.ts';
import type { MonthlyReportJobOptions, MonthlyReportJobResult } from '../report/monthly-report-job.ts';
import type { EscalationSummary } from './escalator.ts';

export interface SchedulerOptions {
  readonly db: Kysely<Database>;
  readonly sla: SlaPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly securityChannel: string;
  /** Pause between passes (real time); default one minute. */
  readonly intervalMs?: number;
  /** Post last month's report on its day (`run` passes this; without it no report is posted). */
  readonly report?: Omit<MonthlyReportJobOptions, 'db' | 'sla'>;
}

/** What one pass did; a job that failed is null (and logged), the others still ran. */
export interface SchedulerPass {
  readonly exceptions: ExceptionExpirySummary | null;
  readonly escalations: EscalationSummary | null;
  readonly snapshot: SnapshotSummary | null;
  /** Null when the job failed or no report schedule was given. */
  readonly report: MonthlyReportJobResult | null;
}

export interface Scheduler extends BackgroundService {
  /** One pass of every job at the clock's now: exception expiry, escalation, today's snapshot, the monthly report. */
  runOnce(signal: AbortSignal): Promise<SchedulerPass>;
}

/**
 * The SLA jobs `driftwatch run` keeps going beside the consumer. Every worker may run it: each job is safe
 * concurrently (SKIP LOCKED claims, unique keys, last-write-wins snapshots). Exceptions go first so a finding
 * whose acceptance just ended escalates in the same pass.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const logger = options.logger.child({ stage: 'sla-scheduler' });
  const escalator = new Escalator({ db: options.db, sla: options.sla, securityChannel: options.securityChannel, logger });
  const intervalMs = options.intervalMs ?? 60_000;

  async function job<T>(name: string, signal: AbortSignal, body: () => Promise<T>): Promise<T | null> {
    try {
      return await body();
    } catch (error) {
      if (signal.aborted) throw error;
      logger.error({ err: error, job: name }, 'scheduled job failed');
      return null;
    }
  }

  async function runOnce(signal: AbortSignal): Promise<SchedulerPass> {
    const now = options.clock.now();
    const exceptions = await job('exception-expiry', signal, () => expireExceptions(options.db, now, signal, { logger }));
    const escalations = await job('escalation', signal, () => escalator.escalateDue(now, signal));
    // Every pass, whether or not events arrived today: the monthly report needs a snapshot of every day.
    const snapshot = await job('compliance-snapshot', signal, () => takeComplianceSnapshot(options.db, options.sla.localDate(now), now));
    const reportOptions = options.report;
    const report = reportOptions ? await job('monthly-report', signal, () => runMonthlyReportJob({ db: options.db, sla: options.sla, ...reportOptions }, now)) : null;
    if (report?.status === 'queued') logger.info({ month: report.month, channel: reportOptions?.channel }, 'monthly report queued for Slack');
    return { exceptions, escalations, snapshot, report };
  }

  return {
    name: 'sla-scheduler',
    runOnce,
    async run(signal: AbortSignal): Promise<void> {
      while (!signal.aborted) {
        try {
          await runOnce(signal);
          await sleep(intervalMs, undefined, { signal });
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
      }
    },
  };
}
