import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * A lease and claim owner name unique per process: host and pid say where it runs, the random part keeps it unique
 * where those repeat (containers sharing the host's name, each with PID 1).
 */
export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
