import { readFileSync } from 'node:fs';
import { Client } from '@opensearch-project/opensearch';
import type { ClientOptions } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { OpenSearchConfig } from './config.ts';

/**
 * An OpenSearch client for the sink, the installer and the queries. The client's own retries are off: retry decisions
 * belong to retry.ts and deliver() (a client that retries a half-applied `_bulk` on its own hides per-item results).
 */
export function createOpenSearchClient(config: OpenSearchConfig): Client {
  const options: ClientOptions = {
    node: config.url,
    maxRetries: 0,
    requestTimeout: config.requestTimeoutMs,
    // One node behind one URL (or a managed endpoint): never mark it dead, or an outage turns into NoLivingConnections.
    resurrectStrategy: 'none',
    sniffOnStart: false,
    ssl: {
      rejectUnauthorized: !config.tls.insecure,
      ...(config.tls.caFile ? { ca: readFileSync(config.tls.caFile) } : {}),
    },
    agent: { keepAlive: true, maxSockets: 16 },
  };
  switch (config.auth.kind) {
    case 'none':
      return new Client(options);
    case 'basic':
      return new Client({ ...options, auth: { username: config.auth.username, password: config.auth.password } });
    case 'sigv4': {
      // One memoized provider chain: it caches credentials and refreshes them before they expire.
      const credentials = defaultProvider();
      return new Client({
        ...options,
        ...AwsSigv4Signer({ region: config.auth.region, service: config.auth.service, getCredentials: () => credentials() }),
      });
    }
  }
}
