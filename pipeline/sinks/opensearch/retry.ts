import type { RejectedItem } from '../sink.ts';
import type { BulkAction } from './bulk-request.ts';

/** What happened to one `_bulk` request: a response (any status) or an exception from the client/transport. */
export type BulkAttempt =
  | { readonly kind: 'response'; readonly statusCode: number; readonly body: unknown; readonly actions: readonly BulkAction[] }
  | { readonly kind: 'exception'; readonly error: unknown };

/**
 * ok: every item of the request is stored. partial: retry these batch items, reject those (dead letters), the rest is
 * stored. retry-request: nothing is known, send the whole request again later. fail: retrying cannot help.
 */
export type BulkDecision =
  | { readonly kind: 'ok' }
  | { readonly kind: 'partial'; readonly retry: readonly number[]; readonly rejected: readonly RejectedItem[] }
  | { readonly kind: 'retry-request'; readonly reason: string }
  | { readonly kind: 'fail'; readonly reason: string };

type Verdict = 'ok' | 'retry' | 'reject';

const RetriableNetworkErrors = new Set(['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError', 'RequestAbortedError', 'DeserializationError', 'AbortError']);
const RetriableSystemCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/**
 * The sink's retry policy as a pure function (Vector's RetryLogic): classifies a bulk response or exception.
 * Backing off and re-sending is deliver()'s job; this only decides what is settled.
 *
 * Per item: 2xx stored; 409 version conflict = a newer state is already stored (external versioning), or the document
 * a `create` must not overwrite exists (a stale event's, a rebuilt first effect's), so done;
 * 429, 5xx, 408, 401/403 (credentials, read-only blocks), 404 (index missing) are retried, because they fix
 * themselves or are fixed by an operator without losing data; any other 4xx (mapping and parsing errors) rejects
 * the item for good. An item whose actions disagree takes the worst verdict: reject > retry > ok.
 * Per request: network errors, timeouts, 408/429/5xx, 401/403/404 retry the whole request; 400 and 413 fail.
 */
export function decideBulkRetry(attempt: BulkAttempt): BulkDecision {
  if (attempt.kind === 'exception') return decideException(attempt.error);
  const { statusCode, body, actions } = attempt;
  if (statusCode < 200 || statusCode >= 300) return decideStatus(statusCode, describeBody(body));
  const parsed = body as { errors?: unknown; items?: unknown } | null;
  if (parsed && parsed.errors === false) return { kind: 'ok' };
  if (!parsed || !Array.isArray(parsed.items)) return { kind: 'retry-request', reason: 'bulk response without items' };
  const items = parsed.items as unknown[];
  if (items.length !== actions.length) {
    return { kind: 'retry-request', reason: `bulk response has ${items.length} items for ${actions.length} actions` };
  }
  const verdicts = new Map<number, { verdict: Verdict; reason: string }>();
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i]!;
    const result = firstValue(items[i]);
    const status = typeof result?.status === 'number' ? result.status : 0;
    const verdict = itemVerdict(status);
    const previous = verdicts.get(action.item);
    if (verdict === 'ok' && previous) continue;
    if (previous && rank(previous.verdict) >= rank(verdict)) continue;
    verdicts.set(action.item, { verdict, reason: verdict === 'ok' ? '' : `opensearch ${action.kind} document: ${describeError(status, result?.error)}` });
  }
  const retry: number[] = [];
  const rejected: RejectedItem[] = [];
  for (const [item, { verdict, reason }] of verdicts) {
    if (verdict === 'retry') retry.push(item);
    else if (verdict === 'reject') rejected.push({ index: item, reason });
  }
  if (retry.length === 0 && rejected.length === 0) return { kind: 'ok' };
  retry.sort((a, b) => a - b);
  rejected.sort((a, b) => a.index - b.index);
  return { kind: 'partial', retry, rejected };
}

function itemVerdict(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 409) return 'ok';
  if (status === 429 || status >= 500 || status === 408 || status === 401 || status === 403 || status === 404) return 'retry';
  // 0 = no status at all: do not guess that it is stored.
  if (status === 0) return 'retry';
  return 'reject';
}

function decideStatus(statusCode: number, detail: string): BulkDecision {
  const reason = `HTTP ${statusCode}${detail ? ` ${detail}` : ''}`;
  if (statusCode === 429 || statusCode >= 500 || statusCode === 408 || statusCode === 401 || statusCode === 403 || statusCode === 404) {
    return { kind: 'retry-request', reason };
  }
  // 413: the body is larger than http.max_content_length; lower OPENSEARCH_BULK_MAX_BYTES. 400: the body is malformed.
  return { kind: 'fail', reason };
}

function decideException(error: unknown): BulkDecision {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; meta?: { statusCode?: unknown; body?: unknown } } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const statusCode = e?.meta?.statusCode;
  if (e?.name === 'ResponseError' && typeof statusCode === 'number') return decideStatus(statusCode, describeBody(e.meta?.body));
  if (typeof e?.name === 'string' && RetriableNetworkErrors.has(e.name)) return { kind: 'retry-request', reason: `${e.name}: ${message}` };
  if (typeof e?.code === 'string' && RetriableSystemCodes.has(e.code)) return { kind: 'retry-request', reason: `${e.code}: ${message}` };
  return { kind: 'fail', reason: `${typeof e?.name === 'string' ? e.name : 'Error'}: ${message}` };
}

function rank(verdict: Verdict): number {
  return verdict === 'reject' ? 2 : verdict === 'retry' ? 1 : 0;
}

function firstValue(item: unknown): { status?: unknown; error?: unknown } | undefined {
  if (!item || typeof item !== 'object') return undefined;
  for (const key in item) return (item as Record<string, { status?: unknown; error?: unknown }>)[key];
  return undefined;
}

function describeError(status: number, error: unknown): string {
  if (typeof error === 'string') return `${status} ${error}`.slice(0, 500);
  const { type, reason, caused_by: causedBy } = (error ?? {}) as { type?: unknown; reason?: unknown; caused_by?: { type?: unknown; reason?: unknown } };
  const cause = causedBy && typeof causedBy.reason === 'string' ? ` (${String(causedBy.type)}: ${causedBy.reason})` : '';
  return `${status} ${typeof type === 'string' ? type : 'error'}: ${typeof reason === 'string' ? reason : ''}${cause}`.slice(0, 500);
}

function describeBody(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 200);
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error.slice(0, 200);
  if (error && typeof error === 'object') {
    const { type, reason } = error as { type?: unknown; reason?: unknown };
    return [type, reason].filter((part) => typeof part === 'string').join(': ').slice(0, 200);
  }
  return '';
}
