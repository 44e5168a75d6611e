import { Writable } from 'node:stream';
import { printable } from '../cli/output/printable.ts';

const Levels: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, or that say nothing to a person reading a terminal. */
const Hidden = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'err']);

/**
 * pino's JSON lines rendered for people: `12:03:07 WARN  message  key=value …`, the error's message last. Control
 * characters in any value are shown escaped (event data reaches logs).
 */
export class PrettyLogStream extends Writable {
  readonly #target: NodeJS.WritableStream;

  constructor(target: NodeJS.WritableStream) {
    super();
    this.#target = target;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    const lines = String(chunk).split('\n').filter((line) => line.length > 0);
    this.#target.write(lines.map(formatLogLine).join(''));
    callback();
  }
}

/** One pino JSON line as one readable line (a line that is not JSON is passed through, escaped). */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${printable(line)}\n`;
  }
  const level = Levels[Number(entry.level)] ?? String(entry.level ?? '');
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !Hidden.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const err = entry.err as { type?: unknown; message?: unknown } | undefined;
  const error = err && typeof err === 'object' ? `: ${String(err.message ?? err.type ?? '')}` : '';
  return `${printable([time, level.padEnd(5), `${String(entry.msg ?? '')}${error}`, ...fields].filter((part) => part !== '').join('  '))}\n`;
}
