import { z } from 'zod';
import type { Settings } from '../../../schemas/settings.ts';

export const OpenSearchAuth = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }),
  z.object({ kind: z.literal('sigv4'), region: z.string().min(1), service: z.enum(['es', 'aoss']) }),
]);
export type OpenSearchAuth = z.infer<typeof OpenSearchAuth>;

/**
 * Everything the OpenSearch sink, the index installer and the analyst queries need. `url` never carries credentials.
 *
 * @example
 * { url: 'https://search-compliance.eu-west-1.es.amazonaws.com', auth: { kind: 'sigv4', region: 'eu-west-1', service: 'es' },
 *   indexPrefix: 'driftwatch', tls: { insecure: false }, bulkMaxBytes: 5242880, requestTimeoutMs: 30000, retentionDays: 400 }
 */
export const OpenSearchConfig = z.object({
  url: z.url(),
  auth: OpenSearchAuth,
  indexPrefix: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  tls: z.object({ insecure: z.boolean(), caFile: z.string().optional() }),
  bulkMaxBytes: z.number().int().min(1_024),
  requestTimeoutMs: z.number().int().min(100),
  retentionDays: z.number().int().min(1),
  replicas: z.number().int().min(0).optional(),
});
export type OpenSearchConfig = z.infer<typeof OpenSearchConfig>;

export class OpenSearchConfigError extends Error {
  override readonly name = 'OpenSearchConfigError';
}

/**
 * The sink's config from the environment settings; null when OPENSEARCH_URL is unset (OpenSearch is optional).
 * Credentials in the URL (`https://user:pass@host`) are moved to basic auth so the URL can be logged.
 */
export function openSearchConfigFromSettings(settings: Settings): OpenSearchConfig | null {
  if (!settings.OPENSEARCH_URL) return null;
  const url = new URL(settings.OPENSEARCH_URL);
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const base = url.toString().replace(/\/+$/, '');
  let auth: OpenSearchAuth;
  switch (settings.OPENSEARCH_AUTH) {
    case 'none':
      auth = urlUser ? basic(urlUser, urlPassword) : { kind: 'none' };
      break;
    case 'basic':
      auth = basic(settings.OPENSEARCH_USERNAME ?? urlUser, settings.OPENSEARCH_PASSWORD ?? urlPassword);
      break;
    case 'sigv4':
      if (urlUser) throw new OpenSearchConfigError('OPENSEARCH_URL carries a user name but OPENSEARCH_AUTH=sigv4 signs requests instead');
      auth = { kind: 'sigv4', region: settings.AWS_REGION, service: settings.OPENSEARCH_SIGV4_SERVICE };
      break;
  }
  return {
    url: base,
    auth,
    indexPrefix: settings.OPENSEARCH_INDEX_PREFIX,
    tls: { insecure: settings.OPENSEARCH_TLS_INSECURE, ...(settings.OPENSEARCH_TLS_CA_FILE ? { caFile: settings.OPENSEARCH_TLS_CA_FILE } : {}) },
    bulkMaxBytes: settings.OPENSEARCH_BULK_MAX_BYTES,
    requestTimeoutMs: settings.OPENSEARCH_REQUEST_TIMEOUT_MS,
    retentionDays: settings.OPENSEARCH_RETENTION_DAYS,
    ...(settings.OPENSEARCH_REPLICAS !== undefined ? { replicas: settings.OPENSEARCH_REPLICAS } : {}),
  };
}

function basic(username: string, password: string): OpenSearchAuth {
  // Name the variables, never their values.
  if (!username || !password) throw new OpenSearchConfigError('OPENSEARCH_AUTH=basic needs OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD');
  return { kind: 'basic', username, password };
}
