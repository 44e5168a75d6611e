import { PassThrough } from 'node:stream';
import { main } from '../../pipeline/cli/main.ts';
import type { CliContext } from '../../pipeline/cli/cli-context.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { RuntimeOptions } from '../../pipeline/runtime/create-runtime.ts';
import pino from 'pino';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI in this process with the given environment, capturing its output. `runtime` adds to its runtime. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, runtime: RuntimeOptions = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const logger = pino({ level: 'silent' });
  const context: CliContext = {
    env,
    stdout,
    stderr,
    settings: () => loadSettings(env),
    logger: () => logger,
    runtime: (options) => createRuntime(loadSettings(env), logger, { ...runtime, ...options }),
  };
  const code = await main(argv, context);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
