import { printable } from '../cli/output/printable.ts';
import type { QueryColumn, QueryRow } from './analyst-query.ts';

/** A plain aligned text table: text left, numbers right, '-' for missing values. */
export function formatTable(columns: readonly QueryColumn[], rows: readonly QueryRow[]): string {
  const cells = rows.map((row) => columns.map((column) => show(row[column.key])));
  const widths = columns.map((column, i) => Math.max(column.title.length, ...cells.map((line) => line[i]!.length)));
  const render = (line: readonly string[]) =>
    line
      .map((cell, i) => (columns[i]!.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.title)), render(widths.map((w) => '-'.repeat(w))), ...cells.map(render)].join('\n');
}

function show(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 1 }) : printable(value);
}
