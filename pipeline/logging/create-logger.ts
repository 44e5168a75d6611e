import pino from 'pino';
import type { Logger } from 'pino';
import { redactUrls } from './redact-secrets.ts';
import type { Redact } from './redact-secrets.ts';
import { PrettyLogStream } from './pretty-log-stream.ts';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** json: one object per line (machines, `run` in a container); pretty: `WARN  message  key=value` for people. */
  readonly format?: LogFormat;
  /** Applied to every finished line: known secrets and URL credentials never reach the stream. */
  readonly redact?: Redact;
  /** Default: stderr (stdout stays for command output). */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Logs to stderr. Secrets are removed twice: by key wherever they appear (pino's redact paths) and by value from every
 * finished line (the process's redactor: tokens, passwords, URL credentials), so a secret quoted inside an error
 * message is caught too.
 */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const redact = options.redact ?? redactUrls;
  const format = options.format ?? 'json';
  const destination =
    format === 'pretty'
      ? new PrettyLogStream(options.destination ?? process.stderr)
      : (options.destination ?? pino.destination({ fd: 2, sync: false }));
  return pino(
    {
      level,
      base: { service: 'driftwatch' },
      redact: {
        paths: ['token', '*.token', 'password', '*.password', 'headers.authorization', '*.headers.authorization', 'DATABASE_URL', 'SLACK_TOKEN', 'OPENSEARCH_PASSWORD'],
        censor: '[redacted]',
      },
      hooks: { streamWrite: redact },
    },
    destination,
  );
}
