import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { createNotifier } from '../../notify/create-notifier.ts';
import { EmptyDrainSummary } from '../../notify/notifier.ts';
import type { DrainSummary } from '../../notify/notifier.ts';
import { OutboxListener } from '../../notify/outbox-listener.ts';
import { OutboxStore } from '../../notify/outbox-store.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';

/** Safety stop for --once against an outbox refilled faster than it drains. */
const MaxRounds = 100_000;

export function registerNotifyCommand(program: Command, context: CliContext): void {
  program
    .command('notify')
    .description('deliver the notification outbox to Slack (to the console without SLACK_TOKEN) until stopped')
    .option('--once', 'deliver what is due now, print a summary and exit')
    .option('--json', 'with --once: print the summary as JSON')
    .action(async (options: { once?: boolean; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const logger = runtime.logger;
        // A long-running notifier is woken by each commit (Postgres LISTEN/NOTIFY); the embedded database polls.
        const url = runtime.database.kind === 'postgres' && !options.once ? runtime.settings.DATABASE_URL : undefined;
        const listener = url ? new OutboxListener({ connectionString: url, logger }) : null;
        const notifier = createNotifier(runtime.settings, runtime.database.db, logger, runtime.catalog, { out: context.stdout, ...(listener ? { wakeup: listener } : {}) });
        await notifier.init();
        try {
          if (!options.once) {
            const stop = stopOnSignals((signal) => logger.info({ signal }, 'stopping'));
            await Promise.all([notifier.run(stop.signal), listener?.run(stop.signal)]);
            return;
          }
          const signal = new AbortController().signal;
          const totals: Record<keyof DrainSummary, number> = { ...EmptyDrainSummary };
          for (let round = 0; round < MaxRounds; round++) {
            const summary = await notifier.drainOnce(signal);
            for (const key of Object.keys(totals) as (keyof DrainSummary)[]) totals[key] += summary[key];
            if (summary.claimed === 0) break;
          }
          const backlog = await new OutboxStore(runtime.database.db, 'cli').backlog();
          const result = { ...totals, waiting: backlog.unsettled, nextDueAt: backlog.nextDueAt === null ? null : new Date(backlog.nextDueAt).toISOString() };
          if (options.json) return writeJson(context, result);
          context.stdout.write(renderNotifySummary(totals, backlog.unsettled, result.nextDueAt));
        } finally {
          await notifier.close();
        }
      });
    });
}

/**
 * Two sentences that each add up: notifications (outbox intents) by how they were settled, then what that did in
 * Slack, per channel (one notification can go to the owner and to security, and a resolve edits a message).
 */
export function renderNotifySummary(totals: DrainSummary, waiting: number, nextDueAt: string | null): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const settled = totals.sent + totals.suppressed + totals.failed + totals.retried;
  return (
    `${n(settled)} notification(s) handled: ${n(totals.sent)} delivered, ${n(totals.suppressed)} suppressed (risk exception), ` +
    `${n(totals.failed)} failed, ${n(totals.retried)} deferred (rate limit or Slack unavailable).\n` +
    `In Slack: ${n(totals.posted)} message(s) posted, ${n(totals.updated)} edited, ${n(totals.digested)} channel deliveries folded into digests ` +
    `(${n(totals.digestsPosted)} digest(s) posted, ${n(totals.digestsUpdated)} updated).\n` +
    `${n(waiting)} notification(s) still waiting${nextDueAt ? ` (next due ${nextDueAt}; \`driftwatch notify\` or \`driftwatch run\` delivers them)` : ''}.\n`
  );
}
