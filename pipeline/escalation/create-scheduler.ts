import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../store/database-schema.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { Clock } from '../clock/clock.ts';
import type { BackgroundService } from '../runtime/background-service.ts';
import { expireExceptions } from '../exceptions/exception-expiry.ts';
import type { ExceptionExpirySummary } from '../exceptions/exception-expiry.ts';
import { takeComplianceSnapshot } from '../report/compliance-snapshot.ts';
import type { SnapshotSummary } from '../report/compliance-snapshot.ts';
import { Escalator } from './escalator.ts';
import type { EscalationSummary } from './escalator.ts';

export interface SchedulerOptions {
  readonly db: Kysely<Database>;
  readonly sla: SlaPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly securityChannel: string;
  /** Pause between passes (real time); default one minute. */
  readonly intervalMs?: number;
}

/** What one pass did; a job that failed is null (and logged), the others still ran. */
export interface SchedulerPass {
  readonly exceptions: ExceptionExpirySummary | null;
  readonly escalations: EscalationSummary | null;
  readonly snapshot: SnapshotSummary | null;
}

export interface Scheduler extends BackgroundService {
  /** One pass of every job at the clock's now: exception expiry, then escalation, then today's snapshot. */
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
    const snapshot = await job('compliance-snapshot', signal, () => takeComplianceSnapshot(options.db, options.sla.localDate(now), now));
    return { exceptions, escalations, snapshot };
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
