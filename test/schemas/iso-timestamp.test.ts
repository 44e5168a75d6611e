import { describe, expect, it } from 'vitest';
import { IsoTimestamp, isoTimestampMillis } from '../../schemas/iso-timestamp.ts';

// A small deterministic generator: the same cases on every run.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('isoTimestampMillis', () => {
  it('equals Date.parse on every timestamp IsoTimestamp accepts (fractions of 0-9 digits, Z and offsets, leap days, years 0000-9999)', () => {
    const next = random(18);
    const int = (below: number) => Math.floor(next() * below);
    let checked = 0;
    for (let i = 0; i < 50_000; i++) {
      const year = i % 7 === 0 ? int(10_000) : 1_990 + int(60);
      const month = 1 + int(12);
      const day = 1 + int(31);
      const fraction = int(10) === 0 ? '' : `.${Array.from({ length: 1 + int(9) }, () => int(10)).join('')}`;
      const zone = int(3) === 0 ? 'Z' : `${int(2) === 0 ? '+' : '-'}${pad(int(24), 2)}:${pad(int(60), 2)}`;
      const value = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(int(24), 2)}:${pad(int(60), 2)}:${pad(int(60), 2)}${fraction}${zone}`;
      if (!IsoTimestamp.safeParse(value).success) continue;
      expect(isoTimestampMillis(value), value).toBe(Date.parse(value));
      checked++;
    }
    expect(checked).toBeGreaterThan(40_000);
  });

  it('cuts fractions past the millisecond as Date.parse does, without rounding up at the end of a second', () => {
    for (const value of ['2026-12-31T23:59:59.9999999Z', '2026-03-04T10:14:51.9029999+05:30', '2024-02-29T00:00:00.0009Z', '0000-01-01T00:00:00.999999999-23:59']) {
      expect(isoTimestampMillis(value), value).toBe(Date.parse(value));
    }
    expect(isoTimestampMillis('2026-12-31T23:59:59.9999999Z')).toBe(Date.UTC(2026, 11, 31, 23, 59, 59, 999));
  });
});
