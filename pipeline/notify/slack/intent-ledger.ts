/** What happened to each intent's deliveries in this drain. */
export class IntentLedger {
  readonly #retries = new Map<string, { at: number; reason: string }>();
  readonly #failures = new Map<string, string[]>();

  retry(intentId: string, at: number, reason: string): void {
    const previous = this.#retries.get(intentId);
    if (!previous || at > previous.at) this.#retries.set(intentId, { at, reason });
  }

  fail(intentId: string, reason: string): void {
    this.#failures.set(intentId, [...(this.#failures.get(intentId) ?? []), reason]);
  }

  /** A retry wins over a failure: delivered channels are skipped next time, the failed one is tried again. */
  outcome(intentId: string): { kind: 'retry'; at: number; reason: string } | { kind: 'failed'; reason: string } | { kind: 'sent' } {
    const retry = this.#retries.get(intentId);
    if (retry) return { kind: 'retry', ...retry };
    const failures = this.#failures.get(intentId);
    if (failures) return { kind: 'failed', reason: failures.join('; ') };
    return { kind: 'sent' };
  }
}
