import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { createOpenSearchClient } from '../../sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../sinks/opensearch/config.ts';
import { deleteExpiredEventIndices } from '../../sinks/opensearch/delete-expired-event-indices.ts';
import { createSecretRedactor } from '../../sinks/opensearch/secret-redactor.ts';

/**
 * `driftwatch opensearch-retention`: deletes monthly event indices older than OPENSEARCH_RETENTION_DAYS. For clusters
 * without ISM (the local node, some managed offerings); run it daily from cron or a scheduler.
 */
export function registerOpenSearchRetentionCommand(program: Command, context: CliContext): void {
  program
    .command('opensearch-retention')
    .description('delete OpenSearch event indices older than OPENSEARCH_RETENTION_DAYS (when the cluster has no ISM)')
    .option('--dry-run', 'only list what would be deleted')
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      const config = openSearchConfigFromSettings(context.settings());
      if (!config) throw new Error('OPENSEARCH_URL is not set');
      const client = createOpenSearchClient(config);
      try {
        const result = await deleteExpiredEventIndices(client, {
          indexPrefix: config.indexPrefix,
          retentionDays: config.retentionDays,
          now: Date.now(),
          dryRun: options.dryRun ?? false,
          redact: createSecretRedactor(config.auth),
        });
        if (options.json) return writeJson(context, { retentionDays: config.retentionDays, dryRun: options.dryRun ?? false, ...result });
        const verb = options.dryRun ? 'Would delete' : 'Deleted';
        context.stdout.write(
          result.deleted.length > 0
            ? `${verb} ${result.deleted.length} index(es) older than ${config.retentionDays} days: ${result.deleted.join(', ')}\n`
            : `No event index is older than ${config.retentionDays} days (${result.kept.length} kept).\n`,
        );
      } finally {
        await client.close();
      }
    });
}
