import type { Client } from '@opensearch-project/opensearch';
import { OpenSearchRequestError } from './opensearch-request-error.ts';
import type { Redact } from './secret-redactor.ts';

export interface OpenSearchCall {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  readonly path: string;
  readonly body?: unknown;
  readonly querystring?: Record<string, string | number | boolean>;
  /** Statuses returned as results instead of thrown (e.g. 404 when probing). */
  readonly ignore?: readonly number[];
}

/** One request through the client's transport; failures become secret-free OpenSearchRequestErrors. */
export async function callOpenSearch(
  client: Client,
  call: OpenSearchCall,
  redact: Redact,
  action: string,
): Promise<{ readonly statusCode: number; readonly body: unknown }> {
  try {
    const response = await client.transport.request(
      { method: call.method, path: call.path, ...(call.body !== undefined ? { body: call.body as Record<string, unknown> } : {}), querystring: call.querystring ?? {} },
      { ignore: [...(call.ignore ?? [])] },
    );
    return { statusCode: response.statusCode ?? 200, body: response.body };
  } catch (error) {
    throw OpenSearchRequestError.from(error, redact, action);
  }
}
