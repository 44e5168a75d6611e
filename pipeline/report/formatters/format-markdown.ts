import type { MonthlyReport, RankingEntry } from '../monthly-report.ts';
import { formatChange, formatHours, formatPercent } from './number-format.ts';
import { printable } from '../../cli/output/printable.ts';

/** For people (wiki pages, e-mail): a summary, the ranked table, and the praise / attention lists. */
export function formatReportMarkdown(report: MonthlyReport): string {
  const t = report.totals;
  const out: string[] = [
    `# Compliance report ${report.month}`,
    '',
    `Company-wide: **${formatPercent(t.complianceRate)}** compliant (${t.compliant} of ${t.evaluated} evaluated), ${formatChange(t.change)} against the previous month; ` +
      `${t.openCritical} open Critical, ${t.openHigh} open High, ${t.excepted} excepted; ${t.slaBreaches} SLA breach(es); ` +
      `${t.resolved} resolved, mean time to resolve ${formatHours(t.meanTimeToResolveHours)}.`,
    '',
    '## Ranking',
    '',
    `- Highest compliance: ${mentions(report.ranking.highest, 'rate')}`,
    `- Biggest improvers: ${mentions(report.ranking.improvers, 'change')}`,
    `- Lowest compliance: ${mentions(report.ranking.lowest, 'rate')}`,
    '',
    '## Accounts',
    '',
    '| Rank | Account | Compliance | Change | Open Critical | Open High | Excepted | SLA breaches | Resolved | Mean time to resolve |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const a of report.accounts) {
    out.push(
      `| ${a.rank ?? '-'} | ${cell(a.accountName)} (${a.accountId}) | ${formatPercent(a.complianceRate)} | ${formatChange(a.change)} | ${a.openCritical} | ${a.openHigh} | ` +
        `${a.excepted} | ${a.slaBreaches} | ${a.resolved} | ${formatHours(a.meanTimeToResolveHours)} |`,
    );
  }
  out.push(
    '',
    `_Compliance: compliant / evaluated in-scope rule-resource pairs on ${report.snapshotDay ?? '(no snapshot this month)'} (${report.timezone}); ` +
      'open and excepted findings as of month end; an SLA breach is a deadline in the month passed unresolved._',
  );
  return `${out.join('\n')}\n`;
}

function mentions(entries: readonly RankingEntry[], show: 'rate' | 'change'): string {
  if (entries.length === 0) return 'none';
  return entries.map((e) => `${cell(e.accountName)} (${show === 'rate' ? formatPercent(e.complianceRate) : formatChange(e.change)})`).join(', ');
}

/** Account names come from a registry people edit: no table breaks, no terminal control characters. */
function cell(text: string): string {
  return printable(text.replaceAll('|', '\\|').replaceAll('\n', ' '));
}
