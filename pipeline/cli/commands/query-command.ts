import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { AnalystQueries } from '../../analytics/analyst-queries.ts';
import { formatTable } from '../../analytics/format-table.ts';
import { MaxQueryDays, MaxQueryLimit, runAnalystQuery } from '../../analytics/run-analyst-query.ts';
import { createOpenSearchClient } from '../../sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../sinks/opensearch/config.ts';
import { createSecretRedactor } from '../../sinks/opensearch/secret-redactor.ts';
import { wholeNumber } from '../parse-options.ts';
import { printable } from '../output/printable.ts';

/** `driftwatch query <name>`: the analyst questions of docs/analyst-queries.md, answered from OpenSearch. */
export function registerQueryCommand(program: Command, context: CliContext): void {
  const names = AnalystQueries.map((q) => q.name);
  program
    .command('query')
    .description(`answer an analyst question from OpenSearch (${names.join(', ')})`)
    .argument('<name>', 'query name')
    .option('--json', 'print the result as JSON')
    .option('--days <n>', `window in days for trend and time-to-resolve queries (1 to ${MaxQueryDays})`, wholeNumber(1, MaxQueryDays))
    .option('--limit <n>', `at most this many rows or groups (1 to ${MaxQueryLimit}; default 20, a daily trend shows its whole window)`, wholeNumber(1, MaxQueryLimit))
    .option('--at <time>', 'evaluate as of this ISO time instead of now', parseTime)
    .addHelpText('after', `\nQueries:\n${AnalystQueries.map((q) => `  ${q.name.padEnd(22)} ${q.description}`).join('\n')}\n`)
    .action(async (name: string, options: { json?: boolean; days?: number; limit?: number; at?: number }) => {
      const query = AnalystQueries.find((q) => q.name === name);
      if (!query) throw new Error(`unknown query "${printable(name)}"; valid names: ${names.join(', ')}`);
      const config = openSearchConfigFromSettings(context.settings());
      if (!config) throw new Error('OPENSEARCH_URL is not set: queries read OpenSearch');
      const client = createOpenSearchClient(config);
      try {
        const result = await runAnalystQuery(
          client,
          query,
          { indexPrefix: config.indexPrefix, now: options.at ?? Date.now(), days: options.days ?? query.defaultDays ?? 30, limit: options.limit ?? query.defaultLimit ?? 20 },
          createSecretRedactor(config.auth),
          { timeoutMs: config.requestTimeoutMs },
        );
        if (options.json) return writeJson(context, { query: result.query, at: result.at, days: result.days, total: result.total ?? null, omitted: result.omitted, rows: result.rows });
        const window = result.days !== null ? `, last ${result.days} days` : '';
        context.stdout.write(`${result.title} (as of ${result.at.slice(0, 16).replace('T', ' ')} UTC${window})\n\n`);
        context.stdout.write(result.rows.length > 0 ? `${formatTable(result.columns, result.rows)}\n` : 'No results.\n');
        if (result.omitted > 0) {
          const which = query.limitKeeps === 'last' ? 'earlier' : 'more';
          context.stdout.write(`\n${result.omitted.toLocaleString('en-US')} ${which} row(s) not shown (--limit ${options.limit ?? query.defaultLimit ?? 20}; raise it to see them).\n`);
        }
        if (result.total !== undefined) {
          const hidden = query.totalCountsRows ? result.total - result.rows.length : 0;
          context.stdout.write(`\nTotal matching: ${result.total.toLocaleString('en-US')}${hidden > 0 ? ` (${hidden.toLocaleString('en-US')} more than shown: --limit)` : ''}\n`);
        }
      } finally {
        await client.close();
      }
    });
}

// Dates a window of MaxQueryDays before them can still be written as ISO 8601 (years 0000-9999).
const EarliestAt = Date.UTC(1980, 0, 1);
const LatestAt = Date.UTC(9999, 11, 31);

function parseTime(value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO time such as 2026-03-20T12:00:00Z');
  if (ms < EarliestAt || ms > LatestAt) throw new InvalidArgumentError('expected a time between 1980 and 9999');
  return ms;
}
