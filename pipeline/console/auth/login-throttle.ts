/**
 * Counts wrong tokens per client address in a fixed window: after `failures` of them the address is refused until the
 * window ends. A long random token is out of reach anyway; this keeps a script from hammering the form.
 */
export class LoginThrottle {
  readonly #failures: number;
  readonly #windowMs: number;
  readonly #clients = new Map<string, { count: number; since: number }>();

  constructor(options: { failures: number; windowMs: number }) {
    this.#failures = options.failures;
    this.#windowMs = options.windowMs;
  }

  blocked(client: string, now: number): boolean {
    const entry = this.#clients.get(client);
    return entry !== undefined && now - entry.since < this.#windowMs && entry.count >= this.#failures;
  }

  failed(client: string, now: number): void {
    const entry = this.#clients.get(client);
    if (!entry || now - entry.since >= this.#windowMs) {
      // Bounded memory: a flood of addresses forgets the oldest windows first.
      if (this.#clients.size >= 10_000) this.#clients.delete(this.#clients.keys().next().value!);
      this.#clients.delete(client);
      this.#clients.set(client, { count: 1, since: now });
    } else {
      entry.count++;
    }
  }
}
