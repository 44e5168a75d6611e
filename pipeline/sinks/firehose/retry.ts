/** What happened to one PutRecordBatch call: its response, or the exception the SDK threw. */
export type PutAttempt =
  | {
      readonly kind: 'response';
      /** Records sent in the call. */
      readonly sent: number;
      readonly failedPutCount: number | undefined;
      readonly responses: readonly { readonly RecordId?: string; readonly ErrorCode?: string; readonly ErrorMessage?: string }[] | undefined;
    }
  | { readonly kind: 'exception'; readonly error: unknown };

/**
 * ok: every record of the call is stored. partial: resend these records (indices into the call), the others are
 * stored. retry-request: nothing is known, resend the whole call later. fail: resending cannot help.
 */
export type PutDecision =
  | { readonly kind: 'ok' }
  | { readonly kind: 'partial'; readonly retry: readonly number[]; readonly reason: string }
  | { readonly kind: 'retry-request'; readonly reason: string }
  | { readonly kind: 'fail'; readonly reason: string };

/** Fixed by the operator without losing data (create the stream, grant access, enable the key): wait, do not drop. */
const OperatorFixable = new Set([
  'ResourceNotFoundException',
  'ResourceInUseException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'InvalidKMSResourceException',
  'InvalidSourceException',
]);
const Transient = new Set(['ServiceUnavailableException', 'InternalFailure', 'ThrottlingException', 'LimitExceededException', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'AbortError']);
const NetworkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/**
 * The Firehose sink's retry policy as a pure function (Vector's RetryLogic): classifies a PutRecordBatch outcome.
 * Backing off and resending is deliver()'s job; this only decides what is settled.
 *
 * Per record, Firehose reports only ServiceUnavailableException (throttled) and InternalFailure: both, and any other
 * code, are resent, never assumed stored. Per call: throttling, 5xx, network errors and what an operator fixes
 * (missing stream, credentials, KMS key) resend the call; malformed requests (InvalidArgumentException, other 4xx)
 * fail, because the same bytes would fail again. Records too large to ever go are rejected before any call.
 */
export function decidePutRetry(attempt: PutAttempt): PutDecision {
  if (attempt.kind === 'exception') return decideException(attempt.error);
  const { sent, failedPutCount, responses } = attempt;
  if (!responses || responses.length !== sent) {
    return { kind: 'retry-request', reason: `response has ${responses?.length ?? 0} results for ${sent} records` };
  }
  const retry: number[] = [];
  const codes = new Map<string, number>();
  responses.forEach((response, index) => {
    if (response.RecordId && !response.ErrorCode) return;
    retry.push(index);
    const code = response.ErrorCode ?? 'no RecordId';
    codes.set(code, (codes.get(code) ?? 0) + 1);
  });
  if (retry.length === 0) {
    // A count without per-record failures: trust the per-record results, they are what tells records apart.
    return failedPutCount ? { kind: 'retry-request', reason: `FailedPutCount ${failedPutCount} but every record has a RecordId` } : { kind: 'ok' };
  }
  const reason = [...codes].map(([code, count]) => `${count} x ${code}`).join(', ');
  return { kind: 'partial', retry, reason: `firehose refused ${retry.length} of ${sent} records for now: ${reason}` };
}

function decideException(error: unknown): PutDecision {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown }; $retryable?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const reason = `${name}${status ? ` (HTTP ${status})` : ''}: ${message}`.slice(0, 500);
  if (Transient.has(name) || OperatorFixable.has(name)) return { kind: 'retry-request', reason };
  if (typeof e?.code === 'string' && NetworkCodes.has(e.code)) return { kind: 'retry-request', reason };
  if (e?.$retryable) return { kind: 'retry-request', reason };
  if (status !== undefined && (status >= 500 || status === 429 || status === 408 || status === 403 || status === 401)) return { kind: 'retry-request', reason };
  return { kind: 'fail', reason };
}
