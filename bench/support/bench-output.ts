/** Shared by every bench script: `--json`, sizes from the environment, progress on stderr, tables on stdout. */

export const JsonOutput = process.argv.includes('--json');

/** A positive whole number from the environment, else the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got ${raw}`);
  return value;
}

/** Progress for people: stderr, so `--json` output on stdout stays parseable. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatBytes(bytes: number): string {
  return `${formatNumber(bytes / 1_048_576, 1)} MiB`;
}

/** A Markdown table (also readable as plain text). */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Nearest-rank percentile of unsorted values (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** What each part of `npm run bench` returns: figures for JSON, a Markdown section for the report. */
export interface BenchPart<T> {
  readonly name: string;
  readonly result: T;
  readonly markdown: string;
}

/** Prints a part's result: its Markdown (default) or JSON (`--json`). */
export function printPart<T>(part: BenchPart<T>): void {
  process.stdout.write(JsonOutput ? `${JSON.stringify(part.result, null, 2)}\n` : `${part.markdown}\n`);
}
