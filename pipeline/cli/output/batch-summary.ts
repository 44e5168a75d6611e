import type { BatchTotals } from '../../replay/batch-totals.ts';
import { formatCount } from './format-table.ts';

/** The lines `replay` and `run --until-caught-up` print under their headline: what the records did. */
export function batchSummaryLines(totals: BatchTotals): string[] {
  return [
    `  accepted     ${formatCount(totals.accepted)}`,
    `  duplicates   ${formatCount(totals.duplicates)}`,
    `  stale        ${formatCount(totals.stale)} (older than what was stored: no state change)`,
    `  opened       ${formatCount(totals.opened)} finding(s)`,
    `  resolved     ${formatCount(totals.resolved)} finding(s)`,
    `  dead letters ${formatCount(totals.deadLetters)}${totals.deadLetters > 0 ? ' (driftwatch dead-letters)' : ''}`,
  ];
}
