import { Writable } from 'node:stream';

/** Passes the first `budget` lines through to `target` and counts the rest, so a demo shows a sample, not a flood. */
export class LineBudget extends Writable {
  readonly #target: NodeJS.WritableStream;
  #remaining: number;
  suppressed = 0;

  constructor(target: NodeJS.WritableStream, budget: number) {
    super();
    this.#target = target;
    this.#remaining = budget;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const lines = chunk.toString('utf8').split('\n').filter((line) => line.length > 0);
    const shown = lines.slice(0, Math.max(0, this.#remaining));
    this.#remaining -= shown.length;
    this.suppressed += lines.length - shown.length;
    if (shown.length > 0) this.#target.write(`${shown.join('\n')}\n`);
    callback();
  }
}
