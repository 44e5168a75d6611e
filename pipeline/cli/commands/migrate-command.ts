import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { migrateToLatest } from '../../store/migrate.ts';

export function registerMigrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations (also run at every start)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const runtime = await context.runtime({ migrate: false });
      try {
        const applied = await migrateToLatest(runtime.database.db);
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
