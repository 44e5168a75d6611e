import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { SystemClock } from '../../clock/clock.ts';
import { Escalator } from '../../escalation/escalator.ts';
import { expireExceptions } from '../../exceptions/exception-expiry.ts';
import { createFindingFactsSync } from '../../sinks/opensearch/finding-facts-sync.ts';

export function registerEscalateCommand(program: Command, context: CliContext): void {
  program
    .command('escalate')
    .description('one pass of the SLA job (driftwatch run does it every minute): end expired risk exceptions, escalate overdue findings to security, send due reminders')
    .option('--json', 'print the counts as JSON')
    .action(async (options: { json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const now = new SystemClock().now();
        const signal = new AbortController().signal;
        const logger = runtime.logger.child({ stage: 'escalate' });
        const exceptions = await expireExceptions(runtime.database.db, now, signal, { logger });
        const escalator = new Escalator({ db: runtime.database.db, sla: runtime.sla, securityChannel: runtime.settings.SLACK_SECURITY_CHANNEL, logger });
        const { escalated, reminded } = await escalator.escalateDue(now, signal);
        // Onto the OpenSearch finding documents now, rather than at the next `driftwatch run` pass.
        const factsSync = createFindingFactsSync(runtime.settings, runtime.database.db, runtime.logger);
        const opensearch = factsSync ? await factsSync.syncOnce(signal).finally(() => factsSync.close()) : null;
        if (options.json) return writeJson(context, { escalated, reminded, exceptions, ...(opensearch ? { opensearch } : {}) });
        context.stdout.write(
          `Escalated ${escalated} finding(s) to ${runtime.settings.SLACK_SECURITY_CHANNEL}, queued ${reminded} reminder(s); ` +
            `risk exceptions: ${exceptions.expired} expired, ${exceptions.realerted + exceptions.released} finding(s) live again.\n` +
            (opensearch ? `OpenSearch: ${opensearch.synced} finding document(s) updated${opensearch.failed > 0 ? `, ${opensearch.failed} left for the next pass` : ''}.\n` : ''),
        );
      });
    });
}
