import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { createOpenSearchClient } from './client.ts';
import { openSearchConfigFromSettings } from './config.ts';
import { installOpenSearchIndices } from './install-opensearch-indices.ts';

/**
 * `driftwatch migrate`'s OpenSearch step (a Runtime migration hook): installs templates, the findings index and the
 * retention policy, and returns lines for people. Null when OPENSEARCH_URL is unset.
 */
export function openSearchMigrationHook(settings: Settings, logger: Logger): (() => Promise<string[]>) | null {
  const config = openSearchConfigFromSettings(settings);
  if (!config) return null;
  return async () => {
    const client = createOpenSearchClient(config);
    try {
      const report = await installOpenSearchIndices(client, settings, logger.child({ sink: 'opensearch' }));
      return [
        `OpenSearch: index templates ${report.templates.join(', ')} installed; ${report.findingsIndex} ${report.findingsIndexCreated ? 'created' : 'up to date'}.`,
        report.retention === 'ism'
          ? `OpenSearch: retention policy installed (ISM, ${report.retentionDays} days).`
          : `OpenSearch: retention NOT installed (no ISM plugin): schedule \`driftwatch opensearch-retention\` (${report.retentionDays} days).`,
        ...(report.foreignIndices.length > 0
          ? [`OpenSearch: left ${report.foreignIndices.length} index(es) alone that match ${config.indexPrefix}-events-* but are not driftwatch's: ${report.foreignIndices.slice(0, 5).join(', ')}${report.foreignIndices.length > 5 ? ', …' : ''}`]
          : []),
      ];
    } finally {
      await client.close();
    }
  };
}
