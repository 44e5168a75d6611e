import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';

/** A pino logger at `info` that appends each parsed log line to `lines`, for tests that assert on what was logged. */
export function capturedLogger<T extends { readonly msg: string }>(lines: T[]): Logger {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as T);
        done();
      },
    }),
  );
}
