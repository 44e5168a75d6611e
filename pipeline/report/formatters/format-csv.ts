import type { MonthlyReport } from '../monthly-report.ts';

const Columns = [
  ['rank', 'rank'],
  ['account_id', 'accountId'],
  ['account_name', 'accountName'],
  ['evaluated', 'evaluated'],
  ['compliant', 'compliant'],
  ['compliance_rate', 'complianceRate'],
  ['previous_compliance_rate', 'previousComplianceRate'],
  ['change_pp', 'change'],
  ['open_critical', 'openCritical'],
  ['open_high', 'openHigh'],
  ['excepted', 'excepted'],
  ['sla_breaches', 'slaBreaches'],
  ['resolved', 'resolved'],
  ['mean_time_to_resolve_hours', 'meanTimeToResolveHours'],
] as const;

/**
 * One row per account (RFC 4180 quoting; empty cell = no value), in report order, for spreadsheets. Text cells that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first: account names come from a registry people
 * edit) get a leading `'`, as OWASP advises; numbers stay numbers.
 */
export function formatReportCsv(report: MonthlyReport): string {
  const lines = [Columns.map(([header]) => header).join(',')];
  for (const account of report.accounts) lines.push(Columns.map(([, key]) => csvCell(account[key])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
