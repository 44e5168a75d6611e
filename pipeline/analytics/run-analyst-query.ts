import { randomUUID } from 'node:crypto';
import type { Client } from '@opensearch-project/opensearch';
import { OpenSearchRequestError } from '../sinks/opensearch/opensearch-request-error.ts';
import type { Redact } from '../sinks/opensearch/secret-redactor.ts';
import type { AnalystQuery, QueryColumn, QueryContext, QueryRow } from './analyst-query.ts';

/** Longest window a query takes: ten years of daily buckets stays far below the cluster's bucket limit. */
export const MaxQueryDays = 3_660;
/** Most rows or groups a query returns (terms sizes, hits): well inside the cluster's result window. */
export const MaxQueryLimit = 1_000;

export interface QueryResult {
  readonly query: string;
  readonly title: string;
  /** ISO time the query was evaluated at ("now"). */
  readonly at: string;
  readonly days: number | null;
  readonly total?: number;
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly QueryRow[];
  /** Rows the query produced beyond --limit (not shown); nested groups or a window can produce more than the limit. */
  readonly omitted: number;
}

export interface RunQueryOptions {
  /** How long the search may take, on the cluster and in the client (default 30 s). */
  readonly timeoutMs?: number;
}

/** A query that ran out of time: its search task was cancelled on the cluster. */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
}

/**
 * Runs one named query. Missing indices give empty results (a fresh cluster), not errors. Bounded three ways, so a
 * large window never leaves work running on the cluster: the context is checked (days, limit), the cluster cancels the
 * search itself after the timeout (`cancel_after_time_interval`), and when the client gives up first it cancels the
 * search task it tagged (X-Opaque-Id).
 */
export async function runAnalystQuery(
  client: Client,
  query: AnalystQuery,
  context: QueryContext,
  redact: Redact = (t) => t,
  options: RunQueryOptions = {},
): Promise<QueryResult> {
  if (!Number.isInteger(context.days) || context.days < 1 || context.days > MaxQueryDays) throw new RangeError(`days must be a whole number from 1 to ${MaxQueryDays}`);
  if (!Number.isInteger(context.limit) || context.limit < 1 || context.limit > MaxQueryLimit) throw new RangeError(`limit must be a whole number from 1 to ${MaxQueryLimit}`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const { index, body } = query.search(context);
  const opaqueId = `driftwatch-query-${randomUUID()}`;
  let response: { body: unknown };
  try {
    response = await client.transport.request(
      {
        method: 'POST',
        path: `/${index}/_search`,
        body,
        querystring: { ignore_unavailable: true, allow_no_indices: true, cancel_after_time_interval: `${timeoutMs}ms` },
      },
      { requestTimeout: timeoutMs, opaqueId },
    );
  } catch (error) {
    if ((error as Error | null)?.name === 'TimeoutError') {
      const cancelled = await cancelTasks(client, opaqueId);
      throw new QueryTimeoutError(
        `query ${query.name} took longer than ${timeoutMs / 1_000} s (OPENSEARCH_REQUEST_TIMEOUT_MS) and was cancelled` +
          `${cancelled > 0 ? ` (${cancelled} search task(s) stopped on the cluster)` : ''}; try a shorter --days or a smaller --limit`,
      );
    }
    throw OpenSearchRequestError.from(error, redact, `query ${query.name}`);
  }
  const { rows: all, total } = query.read(response.body, context);
  const rows = all.length <= context.limit ? all : query.limitKeeps === 'last' ? all.slice(-context.limit) : all.slice(0, context.limit);
  return {
    query: query.name,
    title: query.title,
    at: new Date(context.now).toISOString(),
    days: query.defaultDays === null ? null : context.days,
    ...(total !== undefined ? { total } : {}),
    columns: query.columns,
    rows,
    omitted: all.length - rows.length,
  };
}

/** Cancels the search tasks tagged with `opaqueId` (parent and children); best effort, returns how many. */
async function cancelTasks(client: Client, opaqueId: string): Promise<number> {
  try {
    const listed = await client.transport.request(
      { method: 'GET', path: '/_tasks', querystring: { actions: '*search*', detailed: true, group_by: 'none' } },
      { requestTimeout: 10_000 },
    );
    const tasks = ((listed.body as { tasks?: { id?: unknown; node?: unknown; headers?: Record<string, unknown> }[] } | null)?.tasks ?? []).filter(
      (task) => task.headers?.['X-Opaque-Id'] === opaqueId,
    );
    let cancelled = 0;
    for (const task of tasks) {
      const id = `${String(task.node)}:${String(task.id)}`;
      const result = await client.transport.request({ method: 'POST', path: `/_tasks/${id}/_cancel` }, { requestTimeout: 10_000, ignore: [404] });
      if ((result.statusCode ?? 200) < 300) cancelled++;
    }
    return cancelled;
  } catch {
    return 0;
  }
}
