import { IndexNames } from '../sinks/opensearch/index-names.ts';

/** What a query is evaluated against: the index prefix, the instant "now" (injected: reproducible), a window and a size. */
export interface QueryContext {
  readonly indexPrefix: string;
  /** Epoch ms. */
  readonly now: number;
  /** Window in days for trend and time-to-resolve queries. */
  readonly days: number;
  /** Rows (or buckets) at most. */
  readonly limit: number;
}

export type QueryValue = string | number | null;
export type QueryRow = Readonly<Record<string, QueryValue>>;

export interface QueryColumn {
  readonly key: string;
  readonly title: string;
  readonly align: 'left' | 'right';
}

export interface QueryRows {
  readonly rows: readonly QueryRow[];
  /** How many matched in all, when that differs from the rows shown (e.g. findings past deadline). */
  readonly total?: number;
}

/** One question analysts ask, as an OpenSearch search and a reader turning its response into rows. */
export interface AnalystQuery {
  readonly name: string;
  /** A heading for people, e.g. "Open findings by severity and account". */
  readonly title: string;
  /** One line for the help: what it answers and which options matter. */
  readonly description: string;
  readonly columns: readonly QueryColumn[];
  /** Days window used when --days is not given (null: the query has no window). */
  readonly defaultDays: number | null;
  /** Which rows --limit keeps when there are more: the first (default, the answer is ranked) or the last (a time series). */
  readonly limitKeeps?: 'first' | 'last';
  /** Rows when --limit is not given (default 20); a daily series shows its whole window. */
  readonly defaultLimit?: number;
  /** True when `total` counts the same things as the rows (findings), so total - rows is how many --limit hid. */
  readonly totalCountsRows?: boolean;
  search(context: QueryContext): { readonly index: string; readonly body: Record<string, unknown> };
  read(response: unknown, context: QueryContext): QueryRows;
}

/** Findings covered by an active risk exception are accepted risk, not work: they stay out of the work queues. */
export const NotExcepted = { term: { excepted: true } } as const;

/** Open findings that no risk exception covers: what people are expected to fix now. */
export const OpenNotExcepted = { bool: { filter: [{ term: { status: 'open' } }], must_not: [NotExcepted] } } as const;

/** A column of text (left-aligned) or of numbers (right-aligned). */
export const left = (key: string, title: string): QueryColumn => ({ key, title, align: 'left' });
export const right = (key: string, title: string): QueryColumn => ({ key, title, align: 'right' });

/** The search of an aggregation over findings: no hits, the exact number of matching findings, then the buckets. */
export function findingsAggregation(
  build: (context: QueryContext) => { readonly query: unknown; readonly aggs: Record<string, unknown> },
): AnalystQuery['search'] {
  return (context) => {
    const { query, aggs } = build(context);
    return { index: IndexNames.findings(context.indexPrefix), body: { size: 0, track_total_hits: true, query, aggs } };
  };
}

/** The reader of such a search: the rows of the top-level aggregation `name`'s buckets, and the findings' total. */
export function bucketRows(name: string, rowsOf: (bucket: Record<string, unknown>) => QueryRow | readonly QueryRow[]): AnalystQuery['read'] {
  return (response) => ({ total: totalOf(response), rows: bucketsOf(aggregationsOf(response), name).flatMap((bucket) => rowsOf(bucket)) });
}

export const HourMs = 3_600_000;
export const DayMs = 86_400_000;

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Aggregation buckets of `path` in a search response (an empty list when the index or aggregation is missing). */
export function bucketsOf(node: unknown, name: string): readonly Record<string, unknown>[] {
  const agg = (node as Record<string, unknown> | null | undefined)?.[name] as { buckets?: unknown } | undefined;
  return Array.isArray(agg?.buckets) ? (agg.buckets as Record<string, unknown>[]) : [];
}

export function countOf(node: Record<string, unknown>, name: string): number {
  const agg = node[name] as { doc_count?: unknown; value?: unknown } | undefined;
  if (typeof agg?.doc_count === 'number') return agg.doc_count;
  return typeof agg?.value === 'number' ? agg.value : 0;
}

export function valueOf(node: Record<string, unknown>, name: string): number | null {
  const value = (node[name] as { value?: unknown } | undefined)?.value;
  return typeof value === 'number' ? value : null;
}

export function totalOf(response: unknown): number {
  const total = (response as { hits?: { total?: { value?: unknown } | number } } | null)?.hits?.total;
  if (typeof total === 'number') return total;
  return typeof total?.value === 'number' ? total.value : 0;
}

export function aggregationsOf(response: unknown): Record<string, unknown> {
  return ((response as { aggregations?: Record<string, unknown> } | null)?.aggregations ?? {}) as Record<string, unknown>;
}
