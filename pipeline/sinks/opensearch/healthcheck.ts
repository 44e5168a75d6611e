import type { Client } from '@opensearch-project/opensearch';
import { OpenSearchRequestError } from './opensearch-request-error.ts';
import type { Redact } from './secret-redactor.ts';

export class OpenSearchUnhealthyError extends Error {
  override readonly name = 'OpenSearchUnhealthyError';
}

export interface HealthcheckOptions {
  readonly redact: Redact;
  /** OpenSearch Serverless has no cluster APIs: only the connection and credentials can be checked there. */
  readonly serverless: boolean;
  readonly timeoutMs?: number;
}

/**
 * Healthy = the cluster answers, accepts our credentials and is not red (yellow is fine: a single node has no replicas).
 * Throws OpenSearchRequestError (unreachable, rejected) or OpenSearchUnhealthyError (red), both free of secrets.
 */
export async function checkOpenSearchHealth(client: Client, options: HealthcheckOptions, signal: AbortSignal): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const path = options.serverless ? '/_cat/indices' : '/_cluster/health';
  let body: unknown;
  try {
    const request = client.transport.request({ method: 'GET', path, querystring: options.serverless ? { format: 'json' } : {} }, { requestTimeout: timeoutMs });
    // A block body on purpose: abort() returns the request, a thenable, and an AbortSignal listener that returns a
    // thenable gets its rejection rethrown by Node as an uncaught exception (a crash at every stop mid-request).
    const onAbort = () => {
      request.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      body = (await request).body;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  } catch (error) {
    throw OpenSearchRequestError.from(error, options.redact, 'opensearch healthcheck');
  }
  const status = (body as { status?: unknown } | null)?.status;
  if (!options.serverless && status === 'red') throw new OpenSearchUnhealthyError('opensearch healthcheck: cluster status is red');
}
