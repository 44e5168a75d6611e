import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for a whole number in [min, max]. Out-of-range values fail before any work starts, with
 * commander's one line naming the option (`option '--limit <n>' argument '0' is invalid. expected …`), instead of a
 * raw database or search error later.
 */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`);
    }
    return n;
  };
}

/** Row limits of listing commands: enough for any screen or script, small enough for one query. */
export const MaxListLimit = 1_000_000;
