import type { Client } from '@opensearch-project/opensearch';
import { callOpenSearch } from '../sinks/opensearch/call-opensearch.ts';
import type { Redact } from '../sinks/opensearch/secret-redactor.ts';
import type { AnalystQuery, QueryColumn, QueryContext, QueryRow } from './analyst-query.ts';

export interface QueryResult {
  readonly query: string;
  readonly title: string;
  /** ISO time the query was evaluated at ("now"). */
  readonly at: string;
  readonly days: number | null;
  readonly total?: number;
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly QueryRow[];
}

/** Runs one named query. Missing indices give empty results (a fresh cluster), not errors. */
export async function runAnalystQuery(client: Client, query: AnalystQuery, context: QueryContext, redact: Redact = (t) => t): Promise<QueryResult> {
  const { index, body } = query.search(context);
  const response = await callOpenSearch(
    client,
    { method: 'POST', path: `/${index}/_search`, body, querystring: { ignore_unavailable: true, allow_no_indices: true } },
    redact,
    `query ${query.name}`,
  );
  const { rows, total } = query.read(response.body, context);
  return {
    query: query.name,
    title: query.title,
    at: new Date(context.now).toISOString(),
    days: query.defaultDays === null ? null : context.days,
    ...(total !== undefined ? { total } : {}),
    columns: query.columns,
    rows,
  };
}
