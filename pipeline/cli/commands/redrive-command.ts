import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { redriveDeadLetters } from '../../replay/redrive-dead-letters.ts';
import { MaxListLimit, wholeNumber } from '../parse-options.ts';
import { printable } from '../output/printable.ts';

const deadLetterId = wholeNumber(1, Number.MAX_SAFE_INTEGER);

export function registerRedriveCommand(program: Command, context: CliContext): void {
  program
    .command('redrive')
    .description('re-process pending dead letters (after fixing their cause)')
    .option('--id <id...>', 'only these dead letter ids')
    .option('--limit <n>', 'at most this many', wholeNumber(1, MaxListLimit), 10_000)
    .option('--include-failed', 'also retry letters that already failed a redrive')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { id?: string[]; limit: number; includeFailed?: boolean; json?: boolean }) => {
      const ids = (options.id ?? []).map((id) => {
        try {
          return deadLetterId(id);
        } catch {
          throw new Error(`invalid --id "${printable(id)}": expected dead letter ids (whole numbers from 1, see driftwatch dead-letters)`);
        }
      });
      await withRuntime(context, async (runtime) => {
        const summary = await redriveDeadLetters(runtime, { ids, limit: options.limit, includeFailedAgain: options.includeFailed ?? false }, new AbortController().signal);
        if (options.json) return writeJson(context, summary);
        context.stdout.write(`Redrove ${summary.redriven} of ${summary.considered} dead letter(s); ${summary.failedAgain} failed again.\n`);
        for (const failure of summary.failures.slice(0, 20)) context.stdout.write(`  #${failure.id}: ${printable(failure.reason)}\n`);
        if (summary.failures.length > 20) context.stdout.write(`  … and ${summary.failures.length - 20} more (driftwatch dead-letters --status failed-again)\n`);
      });
    });
}
