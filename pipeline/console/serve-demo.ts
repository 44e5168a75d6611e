import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/create-runtime.ts';
import { takeComplianceSnapshot } from '../report/compliance-snapshot.ts';
import { ConsoleServer } from './console-server.ts';
import { loadConsoleSettings } from './console-settings.ts';

export interface DemoConsoleOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly port: number;
  readonly out: NodeJS.WritableStream;
  readonly logger: Logger;
  /** Stops the console (Ctrl-C). */
  readonly signal: AbortSignal;
  /** Called once the console listens, with its URL and the token to sign in with. */
  readonly onListening?: (url: string, token: string) => void;
}

/**
 * `driftwatch demo --serve`: today's compliance snapshot of the demo's data (what `run`'s scheduler would take), then the
 * console on it until stopped. The token is DRIFTWATCH_CONSOLE_TOKEN when set, else made up and printed: the demo's
 * database is the visitor's own, in memory.
 */
export async function serveDemoConsole(runtime: Runtime, options: DemoConsoleOptions): Promise<void> {
  if (options.signal.aborted) return;
  const settings = loadConsoleSettings(options.env);
  const now = Date.now();
  await takeComplianceSnapshot(runtime.database.db, runtime.sla.localDate(now), now);
  const token = settings.DRIFTWATCH_CONSOLE_TOKEN ?? randomBytes(18).toString('base64url');
  const server = await ConsoleServer.create({ runtime, settings, port: options.port, logger: options.logger, token });
  await server.listen();
  options.out.write(
    `\nWeb console: ${server.url}\n` +
      (settings.DRIFTWATCH_CONSOLE_TOKEN ? 'Sign in with DRIFTWATCH_CONSOLE_TOKEN.\n' : `Sign in with the token ${token}\n`) +
      'Ctrl-C stops the console and ends the demo (its data lives in memory).\n',
  );
  options.onListening?.(server.url, token);
  await server.run(options.signal);
}
