/**
 * One status line for long-running commands: rewritten in place on a terminal, printed every `intervalMs`
 * as plain lines otherwise (CI logs, pipes).
 */
export class ProgressLine {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #intervalMs: number;
  #last = 0;
  #width = 0;

  constructor(stream: NodeJS.WritableStream, intervalMs = 2_000) {
    this.#stream = stream;
    this.#intervalMs = intervalMs;
  }

  update(text: string, force = false): void {
    const now = Date.now();
    if (this.#stream.isTTY) {
      if (!force && now - this.#last < 100) return;
      this.#last = now;
      this.#stream.write(`\r${text.padEnd(this.#width)}`);
      this.#width = text.length;
    } else if (force || now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#stream.write(`${text}\n`);
    }
  }

  done(text?: string): void {
    if (this.#stream.isTTY && this.#width > 0) this.#stream.write('\n');
    if (text) this.#stream.write(`${text}\n`);
    this.#width = 0;
  }
}
