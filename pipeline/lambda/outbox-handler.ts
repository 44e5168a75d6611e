import { SystemClock } from '../clock/clock.ts';
import type { Clock } from '../clock/clock.ts';
import { createScheduler } from '../escalation/create-scheduler.ts';
import type { SchedulerPass } from '../escalation/create-scheduler.ts';
import { createNotifier } from '../notify/create-notifier.ts';
import type { CreateNotifierOptions } from '../notify/create-notifier.ts';
import { EmptyDrainSummary } from '../notify/notifier.ts';
import type { DrainSummary, Notifier } from '../notify/notifier.ts';
import { OutboxStore } from '../notify/outbox-store.ts';
import { ContainerRuntime } from './container-runtime.ts';
import type { ContainerRuntimeOptions } from './container-runtime.ts';
import type { LambdaContext } from './kinesis-stream-event.ts';

export interface OutboxHandlerOptions extends ContainerRuntimeOptions {
  /** Time kept back from the deadline: a drain in progress finishes its claimed intents within it. */
  readonly reserveMs?: number;
  readonly notifier?: CreateNotifierOptions;
  readonly clock?: Clock;
}

export interface OutboxRunSummary {
  readonly drained: DrainSummary;
  /** Intents still waiting (due later, or more than the time allowed). */
  readonly waiting: number;
  readonly scheduler: SchedulerPass;
  readonly stoppedByDeadline: boolean;
}

export type OutboxHandler = (event: unknown, context: LambdaContext) => Promise<OutboxRunSummary>;

/**
 * The scheduled half of the Lambda deployment (an EventBridge Scheduler rule, every minute; reserved concurrency 1
 * keeps Slack's per-channel pacing in one place): one pass of the SLA jobs `run` keeps going (expire exceptions,
 * escalate overdue findings, snapshot compliance), then the Slack outbox drained until it is empty or the time is up.
 *
 * Why separate from the stream handler, not a drain after each commit: Slack allows ~1 message per channel per
 * second and answers 429 with Retry-After, so a drain's duration follows Slack, not the batch. Inside the stream
 * handler it would lengthen every invocation (iterator age grows, a slow Slack times out batches and makes the
 * mapping bisect and retry work that was already committed), and concurrent shards would pace one channel from many
 * containers. Intents are committed in the same transaction as the findings, so nothing waits on this function but
 * the Slack message itself; what one run leaves is taken by the next (claims are leased, so an overlapping run is
 * safe too).
 */
export function createOutboxHandler(options: OutboxHandlerOptions = {}): OutboxHandler & { readonly container: ContainerRuntime } {
  const container = new ContainerRuntime(options);
  let notifier: Notifier | undefined;
  const handler = async (_event: unknown, context: LambdaContext): Promise<OutboxRunSummary> => {
    const remaining = context.getRemainingTimeInMillis();
    const reserve = options.reserveMs ?? Math.min(15_000, Math.max(1_000, Math.round(remaining * 0.2)));
    const deadline = AbortSignal.timeout(Math.max(remaining - reserve, 1));
    const logger = container.logger.child({ requestId: context.awsRequestId });
    try {
      const runtime = await container.get();
      const db = runtime.database.db;
      if (!notifier) {
        const created = createNotifier(runtime.settings, db, logger, runtime.catalog, options.notifier ?? {});
        await created.init();
        notifier = created;
      }
      const scheduler = createScheduler({
        db,
        sla: runtime.sla,
        clock: options.clock ?? new SystemClock(),
        logger,
        securityChannel: runtime.settings.SLACK_SECURITY_CHANNEL,
      });
      const pass = await scheduler.runOnce(deadline);
      const drained: Record<keyof DrainSummary, number> = { ...EmptyDrainSummary };
      // Each drainOnce settles what it claimed; a new one starts only while there is time for it.
      while (!deadline.aborted) {
        const summary = await notifier.drainOnce(new AbortController().signal);
        for (const key of Object.keys(drained) as (keyof DrainSummary)[]) drained[key] += summary[key];
        if (summary.claimed === 0) break;
      }
      const backlog = await new OutboxStore(db, 'lambda').backlog();
      const result = { drained, waiting: backlog.unsettled, scheduler: pass, stoppedByDeadline: deadline.aborted };
      logger.info({ ...drained, waiting: backlog.unsettled, stoppedByDeadline: deadline.aborted }, 'outbox drained');
      return result;
    } finally {
      await new Promise<void>((resolve) => container.logger.flush(() => resolve()));
    }
  };
  return Object.assign(handler, { container });
}

/** The entry point of the scheduled outbox function (`dist/lambda/outbox-handler/index.mjs`, export `handler`). */
export const handler = createOutboxHandler();
