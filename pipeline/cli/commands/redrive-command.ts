import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { redriveDeadLetters } from '../../replay/redrive-dead-letters.ts';
import { parsePositiveInt } from './findings-command.ts';

export function registerRedriveCommand(program: Command, context: CliContext): void {
  program
    .command('redrive')
    .description('re-process pending dead letters (after fixing their cause)')
    .option('--id <id...>', 'only these dead letter ids')
    .option('--limit <n>', 'at most this many', parsePositiveInt, 10_000)
    .option('--include-failed', 'also retry letters that already failed a redrive')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { id?: string[]; limit: number; includeFailed?: boolean; json?: boolean }) => {
      const ids = (options.id ?? []).map((id) => {
        const n = Number(id);
        if (!Number.isInteger(n) || n <= 0) throw new Error(`--id expects dead letter ids (whole numbers), got "${id}"`);
        return n;
      });
      await withRuntime(context, async (runtime) => {
        const summary = await redriveDeadLetters(runtime, { ids, limit: options.limit, includeFailedAgain: options.includeFailed ?? false }, new AbortController().signal);
        if (options.json) return writeJson(context, summary);
        context.stdout.write(`Redrove ${summary.redriven} of ${summary.considered} dead letter(s); ${summary.failedAgain} failed again.\n`);
        for (const failure of summary.failures.slice(0, 20)) context.stdout.write(`  #${failure.id}: ${failure.reason}\n`);
        if (summary.failures.length > 20) context.stdout.write(`  … and ${summary.failures.length - 20} more (driftwatch dead-letters --status failed-again)\n`);
      });
    });
}
