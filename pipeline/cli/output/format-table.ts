import { printable } from './printable.ts';

/** Aligns rows under headers for people; programs use --json instead. Cells from data are shown printable (escaped). */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : printable(String(cell)))));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function isoOrNull(value: Date | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (typeof value === 'number' ? new Date(value) : value).toISOString();
}
