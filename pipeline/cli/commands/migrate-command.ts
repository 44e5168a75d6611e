import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { describeDatabaseError } from '../../store/database-error.ts';

export function registerMigrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations and install the OpenSearch indices (run and demo do it at start too; other commands only check)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const runtime = await context.runtime({ skipSchemaCheck: true });
      try {
        const url = runtime.settings.DATABASE_URL;
        const applied = await migrateToLatest(runtime.database.db).catch((error: unknown) => {
          throw url ? describeDatabaseError(error, url) : error;
        });
        const extra = await Promise.all(runtime.migrationHooks.map((hook) => hook()));
        if (options.json) writeJson(context, { database: runtime.database.description, applied, extra: extra.flat() });
        else {
          context.stdout.write(applied.length > 0 ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database schema is up to date.\n');
          for (const line of extra.flat()) context.stdout.write(`${line}\n`);
        }
      } finally {
        await runtime.close();
      }
    });
}
