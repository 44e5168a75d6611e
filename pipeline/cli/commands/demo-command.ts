import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { formatCount, formatTable } from '../output/format-table.ts';
import { ProgressLine } from '../output/progress-line.ts';
import { runDemo } from '../../demo/run-demo.ts';
import type { DemoSummary } from '../../demo/run-demo.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';
import { createLogger } from '../../logging/create-logger.ts';
import { parsePositiveInt } from './findings-command.ts';
import { wholeNumber } from '../parse-options.ts';
import { createNotifier } from '../../notify/create-notifier.ts';
import { LineBudget } from '../output/line-budget.ts';
import { printable } from '../output/printable.ts';
import { exportDemoEvents } from '../../demo/export-demo-events.ts';

export function registerDemoCommand(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('run the whole pipeline on embedded parts (in-process Kinesis, PGlite) with a synthetic organisation')
    .option('--events <n>', 'records to put on the stream', wholeNumber(1, 10_000_000), 20_000)
    .option('--shards <n>', 'shards of the demo stream', wholeNumber(1, 64), 4)
    .option('--accounts <n>', 'accounts in the synthetic organisation', wholeNumber(1, 100_000), 120)
    .option('--seed <n>', 'seed of the synthetic traffic', parsePositiveInt, 42)
    .option('--notifications <n>', 'console notification lines to show (no Slack token in the demo)', parseNonNegativeInt, 25)
    .option('--json', 'print the summary as JSON')
    .option('--export <file>', "write the demo's records as ndjson (for `driftwatch replay --file`) instead of running it")
    .option('--serve', 'then keep the web console up on the demo\'s data until Ctrl-C')
    .option('--port <n>', 'port of the console with --serve (0 = any free port)', parseNonNegativeInt, 8080)
    .action(async (options: { events: number; shards: number; accounts: number; seed: number; notifications: number; json?: boolean; export?: string; serve?: boolean; port: number }) => {
      if (options.export !== undefined) {
        const exported = await exportDemoEvents(options.export, options).catch((error: NodeJS.ErrnoException) => {
          throw new Error(`cannot write ${options.export}: ${error.code ?? error.message}`);
        });
        if (options.json) return writeJson(context, exported);
        context.stdout.write(
          `Wrote ${formatCount(exported.records)} demo records to ${printable(exported.file)} (${formatCount(exported.byKind.event)} changes, ` +
            `${formatCount(exported.byKind.duplicate)} duplicate deliveries, ${exported.byKind.malformed} malformed). ` +
            `Replay them: driftwatch replay --file ${printable(exported.file)}\n`,
        );
        return;
      }
      const logger = createLogger(context.env.LOG_LEVEL ?? 'warn', { format: (context.stderr as { isTTY?: boolean }).isTTY ? 'pretty' : 'json' });
      const progress = new ProgressLine(context.stderr, 2_000);
      const notifications = new LineBudget(options.json ? context.stderr : context.stdout, options.notifications);
      const stop = stopOnSignals();
      context.stderr.write(
        `driftwatch demo: ${formatCount(options.events)} records from ${options.accounts} accounts x 16 regions x ${32} rules, ` +
          `${options.shards} shards, embedded Postgres (PGlite) and Kinesis (kinesalite). Ctrl-C stops.\n`,
      );
      const summary = await runDemo({
        events: options.events,
        shards: options.shards,
        accounts: options.accounts,
        seed: options.seed,
        logger,
        signal: stop.signal,
        // No Slack token in the demo: alerts print to the console (stderr with --json, so stdout stays JSON).
        services: (rt) => [createNotifier(rt.settings, rt.database.db, logger, rt.catalog, { out: notifications })],
        onProgress: (p) =>
          progress.update(
            `produced ${formatCount(p.produced)}/${formatCount(p.total)} · processed ${formatCount(p.processed)} · ` +
              `${formatCount(p.eventsPerSecond)} ev/s · opened ${formatCount(p.opened)} · resolved ${formatCount(p.resolved)} · dead letters ${p.deadLetters}`,
          ),
        // --serve: print the summary, then keep the console up on the demo's (in-memory) database until Ctrl-C.
        ...(options.serve
          ? {
              beforeClose: async (runtime, s) => {
                progress.done();
                if (!options.json) context.stdout.write(renderSummary(s));
                const { serveDemoConsole } = await import('../../console/serve-demo.ts');
                await serveDemoConsole(runtime, { env: context.env, port: options.port, out: options.json ? context.stderr : context.stdout, logger, signal: stop.signal });
              },
            }
          : {}),
      });
      progress.done();
      stop.abort();
      if (notifications.suppressed > 0) {
        (options.json ? context.stderr : context.stdout).write(`… ${formatCount(notifications.suppressed)} more notification line(s) not shown (--notifications N shows more)\n`);
      }
      if (options.json) return writeJson(context, summary);
      if (!options.serve) context.stdout.write(renderSummary(summary));
    });
}

function renderSummary(s: DemoSummary): string {
  const severities = ['Critical', 'High', 'Medium', 'Low'];
  const lines = [
    '',
    `Organisation: ${s.organisation.accounts} accounts, ${s.organisation.regions} regions, ${s.organisation.rules} rules`,
    `Stream: ${formatCount(s.stream.records)} records on ${s.stream.shards} shards ` +
      `(${formatCount(s.stream.byKind.event)} changes, ${formatCount(s.stream.byKind.duplicate)} duplicate deliveries, ${s.stream.byKind.malformed} malformed)`,
    `Processed: ${formatCount(s.processed.records ?? 0)} records in ${((s.processed.elapsedMs ?? 0) / 1000).toFixed(1)} s ` +
      `(${formatCount(s.throughput.eventsPerSecond)} events/s), ${formatCount(s.processed.duplicates ?? 0)} duplicates dropped, ` +
      `${formatCount(s.processed.stale ?? 0)} stale (out of order) ignored`,
    '',
    'Findings by severity:',
    formatTable(
      ['SEVERITY', 'OPEN', 'RESOLVED'],
      severities.map((sev) => [sev, formatCount(s.findings.open[sev] ?? 0), formatCount(s.findings.resolved[sev] ?? 0)]),
    ).trimEnd(),
    '',
    `Dead letters: ${s.deadLetters.reduce((n, d) => n + d.count, 0)}`,
    ...s.deadLetters.map((d) => `  ${String(d.count).padStart(5)}  ${printable(d.reason)}`),
    '',
    'Next: point driftwatch at your stream (see README: Configuration), or run `npm test`.',
    '',
  ];
  return lines.join('\n');
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got "${value}"`);
  return n;
}
