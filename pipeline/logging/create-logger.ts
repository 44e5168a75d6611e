import pino from 'pino';
import type { Logger } from 'pino';

/**
 * JSON logs to stderr (stdout stays for command output). Secrets are redacted by key wherever they appear,
 * and connection strings are never logged in the first place (see redactUrl).
 */
export function createLogger(level: string, destination: number = 2): Logger {
  return pino(
    {
      level,
      base: { service: 'driftwatch' },
      redact: {
        paths: ['token', '*.token', 'password', '*.password', 'headers.authorization', '*.headers.authorization', 'DATABASE_URL', 'SLACK_TOKEN', 'OPENSEARCH_PASSWORD'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: destination, sync: false }),
  );
}
