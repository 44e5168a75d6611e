import type { Clock } from './clock.ts';

/** A clock that only moves when told to, so a test can step past a deadline instantly. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: number | string | Date) {
    this.#now = toMillis(start);
  }

  now(): number {
    return this.#now;
  }

  set(to: number | string | Date): void {
    this.#now = toMillis(to);
  }

  advance(ms: number): number {
    this.#now += ms;
    return this.#now;
  }
}

function toMillis(value: number | string | Date): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : value.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${String(value)}`);
  return ms;
}
