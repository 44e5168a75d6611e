import type { Logger } from 'pino';
import type { Settings } from '../../schemas/settings.ts';
import { loadSettings } from '../config/load-settings.ts';
import { createLogger } from '../logging/create-logger.ts';
import type { LogFormat } from '../logging/create-logger.ts';
import { redactorFor } from '../logging/redact-secrets.ts';
import { createRuntime } from '../runtime/create-runtime.ts';
import type { Runtime, RuntimeOptions } from '../runtime/create-runtime.ts';

/** How the command about to run wants its logs; set by main before the action runs. */
export interface LoggingChoice {
  /** A service (`run`, `notify` without --once) logs progress at info; one-shot commands only warnings and errors. */
  readonly service: boolean;
  /** --log-format; unset = pretty on a terminal, JSON otherwise. */
  readonly format?: LogFormat;
}

/** What every command gets: settings from the environment, a logger, output streams, and a way to build the runtime. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  settings(): Settings;
  logger(): Logger;
  runtime(options?: RuntimeOptions): Promise<Runtime>;
  /** Called once before the command's action (contexts built by tests may leave it out). */
  configureLogging?(choice: LoggingChoice): void;
}

export function createCliContext(
  env: NodeJS.ProcessEnv = process.env,
  io: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WritableStream } = { stdout: process.stdout, stderr: process.stderr },
): CliContext {
  let settings: Settings | undefined;
  let logger: Logger | undefined;
  let choice: LoggingChoice = { service: false };
  const context: CliContext = {
    env,
    stdout: io.stdout,
    stderr: io.stderr,
    settings: () => (settings ??= loadSettings(env)),
    logger: () =>
      (logger ??= createCommandLogger(context.settings(), choice, {
        terminal: Boolean((io.stderr as { isTTY?: boolean }).isTTY),
        ...(io.stderr === process.stderr ? {} : { destination: io.stderr }),
      })),
    runtime: (options) => createRuntime(context.settings(), context.logger(), options),
    configureLogging: (next) => {
      choice = next;
    },
  };
  return context;
}

/**
 * LOG_LEVEL wins when set; otherwise services log at info and one-shot commands at warn (their output is the answer,
 * not a stream of JSON next to it). Pretty on a terminal, JSON otherwise, unless --log-format says.
 */
export function createCommandLogger(settings: Settings, choice: LoggingChoice, stderr: { readonly terminal: boolean; readonly destination?: NodeJS.WritableStream }): Logger {
  return createLogger(settings.LOG_LEVEL ?? (choice.service ? 'info' : 'warn'), {
    format: choice.format ?? (stderr.terminal ? 'pretty' : 'json'),
    redact: redactorFor(settings),
    ...(stderr.destination ? { destination: stderr.destination } : {}),
  });
}

/** Runs `body` with a runtime and always closes it. */
export async function withRuntime<T>(context: CliContext, body: (runtime: Runtime) => Promise<T>, options?: RuntimeOptions): Promise<T> {
  const runtime = await context.runtime(options);
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

export function writeJson(context: CliContext, value: unknown): void {
  context.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
