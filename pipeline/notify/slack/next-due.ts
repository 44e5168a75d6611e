/** The earliest time a drain of this notifier put work off to (a delayed intent, a digest to post or re-render). */
export class NextDue {
  #at: number | null = null;

  get at(): number | null {
    return this.#at;
  }

  note(at: number): void {
    if (this.#at === null || at < this.#at) this.#at = at;
  }

  /** A drain starts: it sees everything due by now and notes again what it puts off. */
  reset(): void {
    this.#at = null;
  }
}
