/** Where jobs get the time: the system clock in production, a clock the test moves in tests (no test sleeps). */
export interface Clock {
  /** Epoch ms. */
  now(): number;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}
