import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatCount, formatTable } from '../output/format-table.ts';
import { ProgressLine } from '../output/progress-line.ts';
import { ReconcileConfigError, runReconcileJob } from '../../reconcile/reconcile-job.ts';
import type { ReconcileReport } from '../../reconcile/reconciler.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';

export function registerReconcileCommand(program: Command, context: CliContext): void {
  program
    .command('reconcile')
    .description('compare with the Config aggregator and repair what the stream missed (first run into an empty store = the backfill)')
    .option('--rule <name>', 'only this (normalized) rule')
    .option('--account <id>', 'only this account', (value: string) => {
      if (!/^\d{12}$/.test(value)) throw new Error(`expected a 12-digit account id, got "${value}"`);
      return value;
    })
    .option('--dry-run', 'compare and report only: change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { rule?: string; account?: string; dryRun?: boolean; json?: boolean }) => {
      // Before opening the database: a missing setting is one line, at once.
      if (!context.settings().DRIFTWATCH_CONFIG_AGGREGATOR) throw new ReconcileConfigError('set DRIFTWATCH_CONFIG_AGGREGATOR to the name of the organization Config aggregator');
      const stop = stopOnSignals();
      const progress = new ProgressLine(context.stderr);
      try {
        await withRuntime(context, async (runtime) => {
          const report = await runReconcileJob(
            runtime,
            context.logger(),
            {
              ...(options.rule ? { rule: options.rule } : {}),
              ...(options.account ? { account: options.account } : {}),
              dryRun: options.dryRun ?? false,
              onProgress: (p) =>
                progress.update(`reconcile ${p.runId}: account ${p.accountsDone}/${p.accountsTotal}, ${formatCount(p.evaluations)} evaluations compared, ${formatCount(p.differences)} differences, ${p.pages} pages`),
            },
            stop.signal,
          );
          progress.done();
          if (options.json) return writeJson(context, report);
          context.stdout.write(formatReport(report));
        });
      } finally {
        stop.abort(); // removes the signal handlers
      }
    });
}

/** Per rule and account: what the aggregator reported, and what reconcile opened, resolved or left unchanged. */
export function formatReport(report: ReconcileReport): string {
  const rows = report.tallies
    .filter((t) => t.differences > 0 || t.newerInStore > 0)
    .map((t) => [t.accountId, t.rule, t.evaluations, t.unchanged, t.differences, t.opened, t.resolved, t.gone, t.newerInStore]);
  const t = report.totals;
  const kind = report.dryRun ? 'dry run (nothing changed)' : report.backfill ? `backfill (new findings announced: ${report.notify})` : 'repair';
  const lines = [
    `reconcile ${report.runId}: ${kind}${report.resumed ? ', resumed after an interruption' : ''}`,
    `${formatCount(report.accounts)} account(s), ${formatCount(t.evaluations)} evaluations compared, ${formatCount(report.calls)} Config calls (${report.throttled} throttled and retried)`,
    '',
    rows.length > 0
      ? formatTable(['ACCOUNT', 'RULE', 'EVALUATED', 'UNCHANGED', 'DIFFERENCES', 'OPENED', 'RESOLVED', 'GONE', 'STORE NEWER'], rows).trimEnd()
      : 'No differences: the store agrees with the aggregator.',
    '',
    `total: ${formatCount(t.opened)} opened, ${formatCount(t.resolved)} resolved, ${formatCount(t.unchanged)} unchanged, ${formatCount(t.differences)} differences (${formatCount(t.gone)} no longer evaluated), ${formatCount(t.newerInStore)} newer in the store`,
    `drift rate: ${(report.driftRate * 100).toFixed(2)} % of evaluations differed from what the stream had delivered${report.backfill ? ' (a backfill: everything was new)' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
