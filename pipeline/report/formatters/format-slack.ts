import type { MonthlyReport, RankingEntry } from '../monthly-report.ts';
import { formatChange, formatHours, formatPercent } from './number-format.ts';
import { escapeMrkdwn } from '../../notify/slack/mrkdwn.ts';

/** The company-wide Slack post (mrkdwn): praise for the highest and the biggest improvers, a push for the lowest. */
export function formatReportSlack(report: MonthlyReport): string {
  const t = report.totals;
  const lines = [
    `*Monthly compliance report ${report.month}*`,
    `Company-wide: *${formatPercent(t.complianceRate)}* compliant (${formatChange(t.change)} vs last month) · ${t.openCritical} open Critical · ` +
      `${t.openHigh} open High · ${t.slaBreaches} SLA breach(es) · mean time to resolve ${formatHours(t.meanTimeToResolveHours)}`,
    '',
    `:trophy: *Highest compliance:* ${mentions(report.ranking.highest, 'rate')}`,
    `:chart_with_upwards_trend: *Biggest improvers:* ${mentions(report.ranking.improvers, 'change')}`,
    `:warning: *Needs attention:* ${mentions(report.ranking.lowest, 'rate')}`,
    '',
    '*Ranking*',
    ...report.accounts
      .filter((a) => a.rank !== null)
      .map((a) => `${a.rank}. ${escapeMrkdwn(a.accountName)}: ${formatPercent(a.complianceRate)} (${formatChange(a.change)}), ${a.openCritical + a.openHigh} open Critical/High`),
  ];
  return lines.join('\n');
}

function mentions(entries: readonly RankingEntry[], show: 'rate' | 'change'): string {
  if (entries.length === 0) return 'none this month';
  return entries.map((e) => `${escapeMrkdwn(e.accountName)} (${show === 'rate' ? formatPercent(e.complianceRate) : formatChange(e.change)})`).join(', ');
}
