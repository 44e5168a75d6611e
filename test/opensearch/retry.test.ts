import { describe, expect, it } from 'vitest';
import type { BulkAction } from '../../pipeline/sinks/opensearch/bulk-request.ts';
import { decideBulkRetry } from '../../pipeline/sinks/opensearch/retry.ts';
import type { BulkDecision } from '../../pipeline/sinks/opensearch/retry.ts';

// Batch items 0..2; item 1 produced an event and a finding action (bulk positions 1 and 2).
const actions: BulkAction[] = [
  { item: 0, kind: 'event' },
  { item: 1, kind: 'event' },
  { item: 1, kind: 'finding' },
  { item: 2, kind: 'event' },
];
const ok = { index: { status: 201 } };
const status = (code: number, type = 'x', reason = 'y') => ({ index: { status: code, error: { type, reason } } });
const response = (items: unknown[], errors = true) => ({ kind: 'response' as const, statusCode: 200, body: { errors, items }, actions });
const networkError = (name: string, message = 'boom') => Object.assign(new Error(message), { name });
const responseError = (statusCode: number, body: unknown = {}) => Object.assign(new Error('Response Error'), { name: 'ResponseError', meta: { statusCode, body } });

type Expected = BulkDecision['kind'] | { retry: number[]; rejected: number[] };

const cases: [string, Parameters<typeof decideBulkRetry>[0], Expected][] = [
  ['errors:false is ok without reading items', { kind: 'response', statusCode: 200, body: { errors: false }, actions }, 'ok'],
  ['every item 2xx', response([ok, ok, { index: { status: 200 } }, ok]), 'ok'],
  ['409 version conflict on a finding = newer state stored', response([ok, ok, status(409, 'version_conflict_engine_exception'), ok]), 'ok'],
  ['429 on one item retries that batch item', response([ok, ok, ok, status(429, 'es_rejected_execution_exception')]), { retry: [2], rejected: [] }],
  ['503 on a finding action retries its batch item once', response([ok, ok, status(503, 'unavailable_shards_exception'), ok]), { retry: [1], rejected: [] }],
  ['500 item is retried', response([status(500), ok, ok, ok]), { retry: [0], rejected: [] }],
  ['mapper_parsing_exception rejects the item', response([ok, status(400, 'mapper_parsing_exception'), ok, ok]), { retry: [], rejected: [1] }],
  ['strict_dynamic_mapping_exception rejects', response([status(400, 'strict_dynamic_mapping_exception'), ok, ok, ok]), { retry: [], rejected: [0] }],
  ['reject wins over retry within one item', response([ok, status(429), status(400, 'mapper_parsing_exception'), ok]), { retry: [], rejected: [1] }],
  ['mix of retry and reject across items', response([status(429), ok, ok, status(400, 'illegal_argument_exception')]), { retry: [0], rejected: [2] }],
  ['404 index missing (auto-create off) is retried, not dropped', response([status(404, 'index_not_found_exception'), ok, ok, ok]), { retry: [0], rejected: [] }],
  ['403 read-only block is retried', response([status(403, 'cluster_block_exception'), ok, ok, ok]), { retry: [0], rejected: [] }],
  ['item without status is not assumed stored', response([{ index: {} }, ok, ok, ok]), { retry: [0], rejected: [] }],
  ['fewer items than actions retries the request', response([ok, ok]), 'retry-request'],
  ['no items at all retries the request', { kind: 'response', statusCode: 200, body: { errors: true }, actions }, 'retry-request'],
  ['whole-request 429 response', { kind: 'response', statusCode: 429, body: {}, actions }, 'retry-request'],
  ['whole-request 502 response', { kind: 'response', statusCode: 502, body: 'Bad Gateway', actions }, 'retry-request'],
  ['whole-request 413 fails', { kind: 'response', statusCode: 413, body: {}, actions }, 'fail'],
  ['ResponseError 429', { kind: 'exception', error: responseError(429) }, 'retry-request'],
  ['ResponseError 503', { kind: 'exception', error: responseError(503, { error: { type: 'cluster_block_exception' } }) }, 'retry-request'],
  ['ResponseError 401 (credentials rotate) retries', { kind: 'exception', error: responseError(401) }, 'retry-request'],
  ['ResponseError 400 (malformed body) fails', { kind: 'exception', error: responseError(400, { error: { type: 'parse_exception' } }) }, 'fail'],
  ['ResponseError 413 fails', { kind: 'exception', error: responseError(413) }, 'fail'],
  ['ConnectionError (refused, reset)', { kind: 'exception', error: networkError('ConnectionError', 'connect ECONNREFUSED 127.0.0.1:9') }, 'retry-request'],
  ['TimeoutError', { kind: 'exception', error: networkError('TimeoutError', 'Request timed out') }, 'retry-request'],
  ['NoLivingConnectionsError', { kind: 'exception', error: networkError('NoLivingConnectionsError') }, 'retry-request'],
  ['garbled response body', { kind: 'exception', error: networkError('DeserializationError') }, 'retry-request'],
  ['raw socket error by code', { kind: 'exception', error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }, 'retry-request'],
  ['a programming error is not retried forever', { kind: 'exception', error: new TypeError('x is not a function') }, 'fail'],
];

describe('decideBulkRetry', () => {
  it.each(cases)('%s', (_name, attempt, expected) => {
    const decision = decideBulkRetry(attempt);
    if (typeof expected === 'string') {
      expect(decision.kind).toBe(expected);
      return;
    }
    expect(decision.kind).toBe('partial');
    if (decision.kind !== 'partial') return;
    expect(decision.retry).toEqual(expected.retry);
    expect(decision.rejected.map((r) => r.index)).toEqual(expected.rejected);
  });

  it('explains a rejection with the document kind, status, error type and reason', () => {
    const decision = decideBulkRetry(response([ok, status(400, 'mapper_parsing_exception', "failed to parse field [resourceId] of type [long]"), ok, ok]));
    expect(decision).toEqual({
      kind: 'partial',
      retry: [],
      rejected: [{ index: 1, reason: 'opensearch event document: 400 mapper_parsing_exception: failed to parse field [resourceId] of type [long]' }],
    });
  });
});
