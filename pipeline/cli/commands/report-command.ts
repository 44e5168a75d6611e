import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime } from '../cli-context.ts';
import { SystemClock } from '../../clock/clock.ts';
import { buildMonthlyReport } from '../../report/report-builder.ts';
import { takeComplianceSnapshot } from '../../report/compliance-snapshot.ts';
import { enqueueMonthlyReport } from '../../report/post-report.ts';
import { formatReport, ReportFormats } from '../../report/formatters/format-report.ts';
import type { ReportFormat } from '../../report/formatters/format-report.ts';
import { isReportMonth, monthPeriod, previousMonthOf } from '../../report/report-month.ts';

export function registerReportCommand(program: Command, context: CliContext): void {
  program
    .command('report')
    .description('the monthly compliance report: per account compliance rate, change, open Critical/High, SLA breaches, mean time to resolve, ranking')
    .option('--month <YYYY-MM>', 'the month (default: the previous month, SLA calendar timezone)')
    .option('--format <format>', `output format: ${ReportFormats.join(', ')}`, 'md')
    .option('--post', 'also queue the report for Slack (SLACK_REPORT_CHANNEL, once per month)')
    .option('--channel <channel>', 'post to this channel instead of SLACK_REPORT_CHANNEL')
    .option('--top <n>', 'how many accounts the ranking praises and names', '3')
    .action(async (options: { month?: string; format: string; post?: boolean; channel?: string; top: string }) => {
      if (options.month !== undefined && !isReportMonth(options.month)) throw new Error(`invalid --month "${options.month}": expected YYYY-MM`);
      if (!(ReportFormats as readonly string[]).includes(options.format)) throw new Error(`invalid --format "${options.format}": expected one of ${ReportFormats.join(', ')}`);
      const top = Number(options.top);
      if (!Number.isInteger(top) || top < 1 || top > 100) throw new Error(`invalid --top "${options.top}": expected a whole number from 1 to 100`);
      if (options.channel !== undefined && options.channel.trim() === '') throw new Error('invalid --channel: it is empty');
      await withRuntime(context, async (runtime) => {
        const now = new SystemClock().now();
        const timezone = runtime.sla.timezone;
        const month = options.month ?? previousMonthOf(now, timezone);
        const period = monthPeriod(month, timezone);
        // The month in progress: bring today's snapshot up to date so its figures are current.
        if (period.start <= now && now < period.end) await takeComplianceSnapshot(runtime.database.db, runtime.sla.localDate(now), now);
        const report = await buildMonthlyReport(runtime.database.db, {
          month,
          timezone,
          now,
          top,
          accountName: (id) => {
            const { account, known } = runtime.accounts.lookup(id);
            return known ? account.name : undefined;
          },
        });
        context.stdout.write(formatReport(report, options.format as ReportFormat));
        if (options.post) {
          const channel = options.channel ?? runtime.settings.SLACK_REPORT_CHANNEL;
          const { queued } = await enqueueMonthlyReport(runtime.database.db, report, channel);
          // stderr: stdout may be JSON or CSV a program reads.
          context.stderr.write(queued ? `Queued the ${month} report for ${channel}.\n` : `The ${month} report was already queued; not posting it twice.\n`);
        }
      });
    });
}
