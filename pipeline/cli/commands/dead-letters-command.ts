import { Option } from 'commander';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { withRuntime, writeJson } from '../cli-context.ts';
import { formatTable } from '../output/format-table.ts';
import { MaxListLimit, wholeNumber } from '../parse-options.ts';

const Statuses = ['pending', 'redriven', 'failed-again', 'all'] as const;

export function registerDeadLettersCommand(program: Command, context: CliContext): void {
  program
    .command('dead-letters')
    .description('list records that could not be processed, with the reason and where they came from')
    .addOption(new Option('--status <status>', 'which dead letters').choices(Statuses).default('pending'))
    .option('--limit <n>', 'at most this many, newest first', wholeNumber(1, MaxListLimit), 1_000)
    .option('--json', 'print a JSON array (raw bytes as base64)')
    .action(async (options: { status: (typeof Statuses)[number]; limit: number; json?: boolean }) => {
      await withRuntime(context, async (runtime) => {
        let query = runtime.database.db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(options.limit);
        let count = runtime.database.db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<string>().as('n'));
        if (options.status !== 'all') {
          query = query.where('status', '=', options.status);
          count = count.where('status', '=', options.status);
        }
        const [rows, total] = await Promise.all([query.execute(), count.executeTakeFirstOrThrow().then((row) => Number(row.n))]);
        if (options.json) {
          return writeJson(
            context,
            rows.map((row) => ({
              id: Number(row.id),
              source: row.source,
              shardId: row.shard_id,
              sequenceNumber: row.sequence_number,
              stage: row.stage,
              reason: row.reason,
              status: row.status,
              attempts: row.attempts,
              createdAt: row.created_at.toISOString(),
              rawBase64: Buffer.from(row.raw).toString('base64'),
            })),
          );
        }
        if (rows.length === 0) return void context.stdout.write(`No ${options.status === 'all' ? '' : `${options.status} `}dead letters.\n`);
        context.stdout.write(
          formatTable(
            ['ID', 'STATUS', 'CREATED', 'SOURCE', 'SHARD', 'SEQUENCE', 'STAGE', 'BYTES', 'REASON'],
            rows.map((row) => [
              row.id,
              row.status,
              row.created_at.toISOString().slice(0, 19).replace('T', ' '),
              row.source,
              row.shard_id,
              row.sequence_number.length > 14 ? `…${row.sequence_number.slice(-12)}` : row.sequence_number,
              row.stage,
              row.raw.byteLength,
              row.reason.length > 100 ? `${row.reason.slice(0, 99)}…` : row.reason,
            ]),
          ),
        );
        const which = options.status === 'all' ? '' : `${options.status} `;
        context.stdout.write(
          rows.length < total
            ? `${rows.length} of ${total} ${which}dead letter(s), newest first; ${total - rows.length} more (--limit ${total} shows all).\n`
            : `${total} ${which}dead letter(s).\n`,
        );
        if (options.status === 'pending' || options.status === 'all') context.stdout.write('Fix the cause, then: driftwatch redrive\n');
      });
    });
}
