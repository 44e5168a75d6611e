import type { MonthlyReport } from '../monthly-report.ts';
import { formatReportCsv } from './format-csv.ts';
import { formatReportJson } from './format-json.ts';
import { formatReportMarkdown } from './format-markdown.ts';

export const ReportFormats = ['md', 'csv', 'json'] as const;
export type ReportFormat = (typeof ReportFormats)[number];

export function formatReport(report: MonthlyReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return formatReportMarkdown(report);
    case 'csv':
      return formatReportCsv(report);
    case 'json':
      return formatReportJson(report);
  }
}
