import { inspect } from 'node:util';

/**
 * A Slack token that cannot leak by accident: printing, logging or JSON-serializing it shows `[redacted]`.
 * Only `reveal()` gives the value, and only the Web API client gets it.
 */
export class SlackToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SlackToken([redacted])';
  }
}
