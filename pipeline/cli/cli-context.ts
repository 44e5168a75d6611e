import type { Logger } from 'pino';
import type { Settings } from '../../schemas/settings.ts';
import { loadSettings } from '../config/load-settings.ts';
import { createLogger } from '../logging/create-logger.ts';
import { redactorFor } from '../logging/redact-secrets.ts';
import { createRuntime } from '../runtime/create-runtime.ts';
import type { Runtime, RuntimeOptions } from '../runtime/create-runtime.ts';

/** What every command gets: settings from the environment, a logger, output streams, and a way to build the runtime. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  settings(): Settings;
  logger(): Logger;
  runtime(options?: RuntimeOptions): Promise<Runtime>;
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  let settings: Settings | undefined;
  let logger: Logger | undefined;
  const context: CliContext = {
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    settings: () => (settings ??= loadSettings(env)),
    logger: () => (logger ??= createLogger(context.settings().LOG_LEVEL, { redact: redactorFor(context.settings()) })),
    runtime: (options) => createRuntime(context.settings(), context.logger(), options),
  };
  return context;
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
