import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatCount } from '../output/format-table.ts';
import { printable } from '../output/printable.ts';
import { batchSummaryLines } from '../output/batch-summary.ts';
import { readNdjsonBatches } from '../../replay/read-ndjson-batches.ts';
import { BatchTotals } from '../../replay/batch-totals.ts';
import { wholeNumber } from '../parse-options.ts';

export function registerReplayCommand(program: Command, context: CliContext): void {
  program
    .command('replay')
    .description('process newline-delimited EventBridge events through the same stages and sinks, without Kinesis')
    .requiredOption('--file <path>', 'ndjson file of events, or - for stdin')
    .option('--batch-size <n>', 'events per transaction', wholeNumber(1, 10_000), 1_000)
    .option('--json', 'print the summary as JSON')
    .action(async (options: { file: string; batchSize: number; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const totals = new BatchTotals();
        const processor = runtime.createProcessor('replay');
        const signal = new AbortController().signal;
        for await (const batch of readNdjsonBatches(options.file, options.batchSize)) {
          const shardId = batch[0]!.origin.shardId;
          totals.add(await processor.process(shardId, batch, null, 'replay', signal));
        }
        const summary = { file: options.file, ...totals.toJSON() };
        if (options.json) return writeJson(context, summary);
        context.stdout.write(
          [
            `Replayed ${formatCount(totals.records)} record(s) from ${printable(options.file)} in ${(totals.elapsedMs / 1_000).toFixed(1)} s`,
            ...batchSummaryLines(totals),
            '',
          ].join('\n'),
        );
      });
    });
}
