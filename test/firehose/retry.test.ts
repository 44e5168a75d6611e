import { describe, expect, it } from 'vitest';
import { packPutCalls } from '../../pipeline/sinks/firehose/archive-records.ts';
import { decidePutRetry } from '../../pipeline/sinks/firehose/retry.ts';
import type { PutAttempt, PutDecision } from '../../pipeline/sinks/firehose/retry.ts';

const ok = (id = 'r') => ({ RecordId: id });
const failed = (code: string) => ({ ErrorCode: code, ErrorMessage: 'x' });
const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });

describe('decidePutRetry: what a PutRecordBatch outcome settles', () => {
  const cases: { name: string; attempt: PutAttempt; expected: PutDecision['kind']; retry?: number[] }[] = [
    { name: 'every record has a RecordId', attempt: { kind: 'response', sent: 3, failedPutCount: 0, responses: [ok(), ok(), ok()] }, expected: 'ok' },
    { name: 'per-record throttling: resend only those', attempt: { kind: 'response', sent: 3, failedPutCount: 1, responses: [ok(), failed('ServiceUnavailableException'), ok()] }, expected: 'partial', retry: [1] },
    { name: 'per-record InternalFailure: resend', attempt: { kind: 'response', sent: 2, failedPutCount: 2, responses: [failed('InternalFailure'), failed('InternalFailure')] }, expected: 'partial', retry: [0, 1] },
    { name: 'an unknown per-record code is resent, never assumed stored', attempt: { kind: 'response', sent: 2, failedPutCount: 1, responses: [ok(), failed('KMS.ThrottlingException')] }, expected: 'partial', retry: [1] },
    { name: 'a result without RecordId and without code is resent', attempt: { kind: 'response', sent: 2, failedPutCount: 0, responses: [ok(), {}] }, expected: 'partial', retry: [1] },
    { name: 'fewer results than records: nothing is known', attempt: { kind: 'response', sent: 3, failedPutCount: 0, responses: [ok(), ok()] }, expected: 'retry-request' },
    { name: 'no results at all: nothing is known', attempt: { kind: 'response', sent: 1, failedPutCount: 0, responses: undefined }, expected: 'retry-request' },
    { name: 'FailedPutCount without a failed record: resend the call', attempt: { kind: 'response', sent: 1, failedPutCount: 1, responses: [ok()] }, expected: 'retry-request' },
    { name: 'call throttled (ServiceUnavailableException)', attempt: { kind: 'exception', error: sdkError('ServiceUnavailableException', 400) }, expected: 'retry-request' },
    { name: 'ThrottlingException', attempt: { kind: 'exception', error: sdkError('ThrottlingException', 400) }, expected: 'retry-request' },
    { name: 'HTTP 500 of an unknown kind', attempt: { kind: 'exception', error: sdkError('SomethingBroke', 500) }, expected: 'retry-request' },
    { name: 'stream missing: an operator creates it, nothing is dropped meanwhile', attempt: { kind: 'exception', error: sdkError('ResourceNotFoundException', 400) }, expected: 'retry-request' },
    { name: 'access denied: an operator grants it', attempt: { kind: 'exception', error: sdkError('AccessDeniedException', 400) }, expected: 'retry-request' },
    { name: 'KMS key unusable: an operator fixes it', attempt: { kind: 'exception', error: sdkError('InvalidKMSResourceException', 400) }, expected: 'retry-request' },
    { name: 'connection refused', attempt: { kind: 'exception', error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }, expected: 'retry-request' },
    { name: 'request timeout', attempt: { kind: 'exception', error: sdkError('TimeoutError') }, expected: 'retry-request' },
    { name: 'the SDK marks it retryable', attempt: { kind: 'exception', error: sdkError('Odd', 400, { $retryable: {} }) }, expected: 'retry-request' },
    { name: 'over the quotas: the same bytes would fail again', attempt: { kind: 'exception', error: sdkError('ValidationException', 400) }, expected: 'fail' },
    { name: 'InvalidArgumentException', attempt: { kind: 'exception', error: sdkError('InvalidArgumentException', 400) }, expected: 'fail' },
    { name: 'a bug on our side (TypeError)', attempt: { kind: 'exception', error: new TypeError('x is undefined') }, expected: 'fail' },
  ];
  for (const { name, attempt, expected, retry } of cases) {
    it(name, () => {
      const decision = decidePutRetry(attempt);
      expect(decision.kind).toBe(expected);
      if (retry) expect(decision.kind === 'partial' && decision.retry).toEqual(retry);
      if (decision.kind !== 'ok') expect((decision as { reason: string }).reason.length).toBeGreaterThan(0);
    });
  }
});

describe('packPutCalls: within 500 records and 4 MiB per call', () => {
  const records = (sizes: number[]) => sizes.map((size, item) => ({ item, data: new Uint8Array(size) }));
  const cases: { name: string; sizes: number[]; limits: { recordsPerCall: number; bytesPerCall: number }; expected: number[][] }[] = [
    { name: 'one call when everything fits', sizes: [10, 10, 10], limits: { recordsPerCall: 500, bytesPerCall: 100 }, expected: [[0, 1, 2]] },
    { name: 'by count', sizes: [1, 1, 1, 1, 1], limits: { recordsPerCall: 2, bytesPerCall: 100 }, expected: [[0, 1], [2, 3], [4]] },
    { name: 'by bytes, exactly at the limit stays', sizes: [40, 60, 1, 100], limits: { recordsPerCall: 500, bytesPerCall: 100 }, expected: [[0, 1], [2], [3]] },
    { name: 'nothing to send', sizes: [], limits: { recordsPerCall: 500, bytesPerCall: 100 }, expected: [] },
  ];
  for (const { name, sizes, limits, expected } of cases) {
    it(name, () => expect(packPutCalls(records(sizes), limits).map((c) => c.items)).toEqual(expected));
  }
  it('1,201 records of 9 KiB make calls of at most 500 records and 4 MiB', () => {
    const calls = packPutCalls(records(Array.from({ length: 1_201 }, () => 9 * 1_024)), { recordsPerCall: 500, bytesPerCall: 4 * 1_048_576 });
    expect(calls.map((c) => c.items.length)).toEqual([455, 455, 291]);
    for (const call of calls) expect(call.records.reduce((n, r) => n + r.byteLength, 0)).toBeLessThanOrEqual(4 * 1_048_576);
  });
});
