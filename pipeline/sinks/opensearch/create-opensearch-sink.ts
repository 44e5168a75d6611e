import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { createOpenSearchClient } from './client.ts';
import { openSearchConfigFromSettings } from './config.ts';
import { OpenSearchSink } from './opensearch-sink.ts';

/**
 * The OpenSearch sink from settings, or null when OPENSEARCH_URL is unset (OpenSearch is optional). The caller runs
 * `sink.healthcheck(signal)` at start (the run command does, for every sink).
 */
export async function createOpenSearchSink(settings: Settings, logger: Logger): Promise<OpenSearchSink | null> {
  const config = openSearchConfigFromSettings(settings);
  if (!config) return null;
  logger.info({ sink: 'opensearch', url: config.url, auth: config.auth.kind, indexPrefix: config.indexPrefix }, 'opensearch sink configured');
  return new OpenSearchSink({ client: createOpenSearchClient(config), config, logger });
}
