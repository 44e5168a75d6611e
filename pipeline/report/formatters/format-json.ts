import type { MonthlyReport } from '../monthly-report.ts';

/** The program-facing format: the MonthlyReport schema, 2-space indented, one trailing newline, byte-stable. */
export function formatReportJson(report: MonthlyReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
