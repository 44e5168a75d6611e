import type { Redact } from './secret-redactor.ts';

/**
 * A failed OpenSearch request, described without the client's raw error: that one carries the request (headers,
 * connection) and the response body, which may echo credentials. Only a redacted summary is kept.
 */
export class OpenSearchRequestError extends Error {
  override readonly name = 'OpenSearchRequestError';
  /** HTTP status, when the server answered. */
  readonly statusCode: number | undefined;
  /** The client's error class (ConnectionError, TimeoutError, ResponseError, ...). */
  readonly kind: string;

  constructor(message: string, kind: string, statusCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.statusCode = statusCode;
  }

  /** Summarizes any error thrown by the client or the transport, redacting secrets from every part of the message. */
  static from(error: unknown, redact: Redact, action: string): OpenSearchRequestError {
    if (error instanceof OpenSearchRequestError) return error;
    const kind = error instanceof Error ? error.name : typeof error;
    const statusCode = statusOf(error);
    const detail = statusCode !== undefined ? `HTTP ${statusCode} ${reasonOf(error)}` : `${kind}: ${error instanceof Error ? error.message : String(error)}`;
    const message = redact(`${action} failed: ${detail}`).slice(0, 1_000);
    // The cause is a fresh, redacted Error, never the client's error object (see the class comment).
    return new OpenSearchRequestError(message, kind, statusCode, { cause: new Error(message) });
  }
}

function statusOf(error: unknown): number | undefined {
  const meta = (error as { meta?: { statusCode?: unknown } } | null)?.meta;
  return typeof meta?.statusCode === 'number' ? meta.statusCode : undefined;
}

function reasonOf(error: unknown): string {
  const body = (error as { meta?: { body?: unknown } }).meta?.body;
  if (body && typeof body === 'object') {
    const err = (body as { error?: unknown }).error;
    if (typeof err === 'string') return err;
    if (err && typeof err === 'object') {
      const { type, reason } = err as { type?: unknown; reason?: unknown };
      return [type, reason].filter((part) => typeof part === 'string').join(': ');
    }
    const message = (body as { message?: unknown; Message?: unknown }).message ?? (body as { Message?: unknown }).Message;
    if (typeof message === 'string') return message;
  }
  if (typeof body === 'string') return body.slice(0, 300);
  return error instanceof Error ? error.message : '';
}
