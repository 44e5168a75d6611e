import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../pipeline/runtime/backoff.ts';

const policy = { baseMs: 100, maxMs: 1_000 };

describe('backoffDelay (full jitter)', () => {
  it.each([
    // attempt, random, delay
    [1, 1, 100],
    [1, 0.5, 50],
    [1, 0, 0],
    [2, 1, 200],
    [3, 1, 400],
    [4, 1, 800],
    [5, 1, 1_000],
    [50, 1, 1_000],
    [0, 1, 100],
    [-3, 1, 100],
    [2.7, 1, 200],
  ])('attempt %s with random %s waits %s ms', (attempt, random, delay) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(delay);
  });

  it('stays within [0, ceiling] for real randomness', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const delay = backoffDelay(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(Math.min(1_000, 100 * 2 ** (attempt - 1)));
    }
  });
});

describe('Backoff', () => {
  it('grows with each failure and starts over after a success', () => {
    const backoff = new Backoff(policy, () => 1);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('refuses bounds that make no sense', () => {
    expect(() => new Backoff({ baseMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});
