import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { writeJson } from '../cli-context.ts';
import { stopOnSignals } from '../../runtime/stop-signal.ts';
import { checkSchemaVersion } from '../../store/check-schema-version.ts';

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('serve the web console (organisation board, team boards, findings, rules) from the state store')
    .option('--port <n>', 'port to listen on (default DRIFTWATCH_CONSOLE_PORT, else 8080; 0 = any free port)', parsePort)
    .option('--host <address>', 'address to bind (default DRIFTWATCH_CONSOLE_HOST, else 127.0.0.1)')
    .option('--json', 'print where the console listens as JSON')
    .action(async (options: { port?: number; host?: string; json?: boolean }) => {
      // Loaded when used: every other command starts without the console's modules.
      const [{ ConsoleServer }, { loadConsoleSettings }] = await Promise.all([import('../../console/console-server.ts'), import('../../console/console-settings.ts')]);
      const settings = context.settings();
      const consoleSettings = loadConsoleSettings(context.env);
      if (!settings.DATABASE_URL && !settings.DRIFTWATCH_DATA_DIR) {
        throw new Error('serve reads a state store: set DATABASE_URL (or DRIFTWATCH_DATA_DIR for the embedded database); `driftwatch demo --serve` shows the console on demo data');
      }
      const logger = context.logger();
      // Read-only: no migrations, no sinks; the schema must already be current.
      const runtime = await context.runtime({ migrate: false, sinks: [], migrationHooks: [] });
      const stop = stopOnSignals((signal) => logger.info({ signal }, 'stopping'));
      try {
        // The runtime checks it too for DATABASE_URL; the embedded database must be current as well.
        await checkSchemaVersion(runtime.database.db);
        const server = await ConsoleServer.create({
          runtime,
          settings: consoleSettings,
          port: options.port ?? consoleSettings.DRIFTWATCH_CONSOLE_PORT ?? 8080,
          logger,
          ...(options.host ? { host: options.host } : {}),
        });
        await server.listen();
        if (options.json) writeJson(context, { url: server.url, database: runtime.database.description });
        else context.stdout.write(`driftwatch console: ${server.url} (state store: ${runtime.database.description}). Ctrl-C stops.\n`);
        await server.run(stop.signal);
      } finally {
        stop.abort();
        await runtime.close();
      }
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`expected a port number from 0 to 65535, got "${value}"`);
  return n;
}
