import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatCount } from '../output/format-table.ts';
import { printable } from '../output/printable.ts';
import { batchSummaryLines } from '../output/batch-summary.ts';
import { ProgressLine } from '../output/progress-line.ts';
import { readReplayBatches } from '../../replay/read-replay-batches.ts';
import { BatchTotals } from '../../replay/batch-totals.ts';
import { wholeNumber } from '../parse-options.ts';

/** Progress lines start only once a replay has run this long: a short replay prints its summary and nothing else. */
const QuietMs = 2_000;

export class AllDeadLettersError extends Error {
  override readonly name = 'AllDeadLettersError';
}

export function registerReplayCommand(program: Command, context: CliContext): void {
  program
    .command('replay')
    .description(
      'process EventBridge events through the same stages and sinks, without Kinesis: newline-delimited JSON or what Firehose ' +
        'archives to S3 (GZIP, records concatenated), from a file, a directory of files (time order) or stdin',
    )
    .requiredOption('--file <path>', 'a file (.gz or plain), a directory of them, or - for stdin')
    .option('--batch-size <n>', 'events per transaction', wholeNumber(1, 10_000), 1_000)
    .option('--json', 'print the summary as JSON')
    .action(async (options: { file: string; batchSize: number; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        const totals = new BatchTotals();
        const progress = new ProgressLine(context.stderr, 5_000);
        const perFile = new Map<string, { records: number; deadLetters: number }>();
        const processor = runtime.createProcessor('replay');
        const signal = new AbortController().signal;
        let files = 0;
        for await (const batch of readReplayBatches(options.file, { batchSize: options.batchSize })) {
          const shardId = batch.items[0]!.origin.shardId;
          const summary = await processor.process(shardId, batch.items, null, 'replay', signal);
          totals.add(summary);
          files = batch.fileCount;
          const tally = perFile.get(batch.file) ?? { records: 0, deadLetters: 0 };
          tally.records += summary.records;
          tally.deadLetters += summary.deadLetters;
          perFile.set(batch.file, tally);
          if (totals.elapsedMs >= QuietMs) {
            progress.update(
              `file ${batch.fileNumber}/${batch.fileCount} · ${formatCount(totals.records)} records · ${formatCount(Math.round(totals.ratePerSecond))}/s · ` +
                `accepted ${formatCount(totals.accepted)} · dead letters ${formatCount(totals.deadLetters)}`,
            );
          }
        }
        progress.done();
        // A file whose every record is a dead letter is not an archive of events (pretty-printed JSON, the enriched archive, ...).
        const rejectedFiles = [...perFile].filter(([, tally]) => tally.records > 0 && tally.deadLetters === tally.records).map(([file]) => file);
        const summary = { file: options.file, files, ...totals.toJSON(), filesAllDeadLetters: rejectedFiles };
        if (options.json) {
          writeJson(context, summary);
        } else {
          context.stdout.write(
            [
              `Replayed ${formatCount(totals.records)} record(s) from ${printable(options.file)}${files > 1 ? ` (${files} files)` : ''} in ${(totals.elapsedMs / 1_000).toFixed(1)} s`,
              ...batchSummaryLines(totals),
              '',
            ].join('\n'),
          );
        }
        if (rejectedFiles.length > 0) {
          const first = rejectedFiles[0]!;
          const more = rejectedFiles.length > 1 ? ` (and ${rejectedFiles.length - 1} more file(s))` : '';
          throw new AllDeadLettersError(
            `every record of ${printable(first)}${more} is a dead letter: replay reads EventBridge events, one compact JSON per line or concatenated ` +
              `(pretty-printed JSON is not read); see driftwatch dead-letters`,
          );
        }
      });
    });
}
