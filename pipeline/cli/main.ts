import { Command, CommanderError, Option } from 'commander';
import { createCliContext } from './cli-context.ts';
import type { CliContext } from './cli-context.ts';
import { printable } from './output/printable.ts';
import { redactorFor, redactUrls } from '../logging/redact-secrets.ts';
import type { Redact } from '../logging/redact-secrets.ts';
import type { LogFormat } from '../logging/create-logger.ts';
import { registerMigrateCommand } from './commands/migrate-command.ts';
import { registerRunCommand } from './commands/run-command.ts';
import { registerReplayCommand } from './commands/replay-command.ts';
import { registerFindingsCommand } from './commands/findings-command.ts';
import { registerDeadLettersCommand } from './commands/dead-letters-command.ts';
import { registerRedriveCommand } from './commands/redrive-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerNotifyCommand } from './commands/notify-command.ts';
import { registerEscalateCommand } from './commands/escalate-command.ts';
import { registerExceptionCommand } from './commands/exception-command.ts';
import { registerReportCommand } from './commands/report-command.ts';
import { registerQueryCommand } from './commands/query-command.ts';
import { registerOpenSearchRetentionCommand } from './commands/opensearch-retention-command.ts';
import { registerAccountsCommand } from './commands/accounts-command.ts';
import { registerReconcileCommand } from './commands/reconcile-command.ts';
import { registerServeCommand } from './commands/serve-command.ts';

const LogFormats: readonly LogFormat[] = ['json', 'pretty'];

/**
 * Commands that keep running and report progress in their logs (info level); every other command is one-shot and logs
 * only warnings and errors unless LOG_LEVEL says otherwise. A new long-running command adds its name here.
 */
const ServiceCommands: ReadonlySet<string> = new Set(['run', 'notify', 'serve']);

function isService(action: Command): boolean {
  return ServiceCommands.has(action.name()) && !(action.name() === 'notify' && action.opts<{ once?: boolean }>().once);
}

/** Each command lives in commands/<name>-command.ts and registers itself here. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('driftwatch')
    .description('Continuous compliance for AWS Config: Kinesis -> stages -> Postgres, OpenSearch, Slack')
    .version('0.1.0')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    })
    .addOption(new Option('--log-format <format>', 'logs on stderr: pretty for people, json for machines (default: pretty on a terminal)').choices(LogFormats))
    .hook('preAction', (_program, action) => {
      const format = program.opts<{ logFormat?: LogFormat }>().logFormat;
      context.configureLogging?.({ service: isService(action), ...(format ? { format } : {}) });
    });
  registerMigrateCommand(program, context);
  registerRunCommand(program, context);
  registerReplayCommand(program, context);
  registerFindingsCommand(program, context);
  registerDeadLettersCommand(program, context);
  registerRedriveCommand(program, context);
  registerDemoCommand(program, context);
  registerNotifyCommand(program, context);
  registerEscalateCommand(program, context);
  registerExceptionCommand(program, context);
  registerReportCommand(program, context);
  registerQueryCommand(program, context);
  registerOpenSearchRetentionCommand(program, context);
  registerAccountsCommand(program, context);
  registerReconcileCommand(program, context);
  registerServeCommand(program, context);
  return program;
}

/** Parses and runs; every failure becomes one line on stderr and a non-zero exit code. Secrets never reach it. */
export async function main(argv: readonly string[], context: CliContext = createCliContext()): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2; // commander already printed its one-line message
    }
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    context.stderr.write(`driftwatch: ${printable(redactorOf(context)(message))}\n`);
    return 1;
  }
}

/** The settings' redactor (their tokens and passwords by value), or URL credentials alone when settings are invalid. */
function redactorOf(context: CliContext): Redact {
  try {
    return redactorFor(context.settings());
  } catch {
    return redactUrls;
  }
}
