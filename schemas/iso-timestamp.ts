import { z } from 'zod';

const DaysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DayMs = 86_400_000;
const twoDigits = (value: string, at: number) => (value.charCodeAt(at) - 48) * 10 + value.charCodeAt(at + 1) - 48;

/**
 * The pattern already matched, so every field is digits in place: what Date.parse refuses (month 0 or 13+, day 0 or
 * 32+, minute, second or offset minute 60+, offset hour 24+) is refused here by arithmetic, without its cost on six
 * timestamps of every event; Date.parse would also roll 2026-02-30 over to March 2 and accept hour 24: rejected too.
 */
export function isRealDateTime(value: string): boolean {
  const month = twoDigits(value, 5);
  const day = twoDigits(value, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  if (twoDigits(value, 11) > 23 || twoDigits(value, 14) > 59 || twoDigits(value, 17) > 59) return false;
  const end = value.length;
  if (value.charCodeAt(end - 1) !== 90 /* Z */ && (twoDigits(value, end - 5) > 23 || twoDigits(value, end - 2) > 59)) return false;
  if (day <= 28) return true;
  if (month !== 2 || day !== 29) return day <= DaysInMonth[month - 1]!;
  const year = twoDigits(value, 0) * 100 + twoDigits(value, 2);
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * ISO-8601 with a zone, checked by a simple pattern and digit arithmetic: zod's calendar-exact regex costs ~1 µs per
 * field on the hot path, and six timestamps ride on every event.
 *
 * @example
 * IsoTimestamp.parse('2026-03-04T10:14:51.902Z');
 */
export const IsoTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, { error: 'expected an ISO-8601 timestamp with a zone', abort: true })
  .refine(isRealDateTime, 'expected a real date');

/**
 * Epoch milliseconds of a timestamp IsoTimestamp accepted: what Date.parse returns for it (fractions past the
 * millisecond are cut, as Date.parse cuts them), by digit arithmetic. Date.parse re-reads the string through its
 * general grammar and was the enrich stage's largest single cost.
 */
export function isoTimestampMillis(value: string): number {
  const year = twoDigits(value, 0) * 100 + twoDigits(value, 2);
  let ms = daysFromCivil(year, twoDigits(value, 5), twoDigits(value, 8)) * DayMs + twoDigits(value, 11) * 3_600_000 + twoDigits(value, 14) * 60_000 + twoDigits(value, 17) * 1_000;
  let at = 19;
  if (value.charCodeAt(at) === 46 /* . */) {
    // Whole milliseconds only: adding sub-millisecond fractions to a 13-digit number could round up a millisecond.
    let scale = 100;
    for (at++; at < value.length; at++) {
      const digit = value.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) break;
      ms += digit * scale;
      scale = scale >= 10 ? scale / 10 : 0;
    }
  }
  if (value.charCodeAt(at) === 90 /* Z */) return ms;
  const offset = twoDigits(value, at + 1) * 3_600_000 + twoDigits(value, at + 4) * 60_000;
  return value.charCodeAt(at) === 43 /* + */ ? ms - offset : ms + offset;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil); month 1-12. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
