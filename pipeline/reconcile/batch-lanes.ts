import type { BatchProcessor } from '../processor/batch-processor.ts';

/**
 * A few processors working at once, for a producer that must not run ahead of them: `run` hands a task the next free
 * processor, `ready` waits while every lane is taken. The first failure aborts `signal` (the tasks in flight stop at
 * their next check) and is what `ready`, `throwIfFailed` and `drain` throw from then on.
 */
export class BatchLanes {
  readonly signal: AbortSignal;
  readonly #count: number;
  readonly #free: BatchProcessor[] = [];
  readonly #waiting: ((processor: BatchProcessor) => void)[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #controller = new AbortController();
  #failure: { readonly error: unknown } | null = null;

  constructor(count: number, create: () => BatchProcessor, signal: AbortSignal) {
    this.#count = count;
    for (let i = 0; i < count; i++) this.#free.push(create());
    this.signal = AbortSignal.any([signal, this.#controller.signal]);
  }

  /** Starts the task on the next free processor; the promise settles with the task. */
  run(task: (processor: BatchProcessor) => Promise<void>): Promise<void> {
    const done = (async () => {
      const processor = this.#free.pop() ?? (await new Promise<BatchProcessor>((resolve) => this.#waiting.push(resolve)));
      try {
        this.signal.throwIfAborted();
        await task(processor);
      } finally {
        const next = this.#waiting.shift();
        if (next) next(processor);
        else this.#free.push(processor);
      }
    })();
    this.#running.add(done);
    done.then(
      () => this.#running.delete(done),
      (error: unknown) => {
        this.#running.delete(done);
        this.fail(error);
      },
    );
    return done;
  }

  /** Resolves once a lane is free (or throws the first failure). */
  async ready(): Promise<void> {
    while (this.#running.size >= this.#count && !this.#failure) await Promise.race(this.#running).catch(() => undefined);
    this.throwIfFailed();
  }

  fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = { error };
    this.#controller.abort(error);
  }

  throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#running]);
    this.throwIfFailed();
  }
}
