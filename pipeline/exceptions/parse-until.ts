import { DateTime } from 'luxon';

/**
 * `--until` as people write it: a date means through the end of that day in the SLA calendar's timezone (an
 * exception "until 2026-06-30" still holds on June 30); an ISO 8601 time is taken as is (no offset = that timezone).
 * Errors are one line naming the argument.
 */
export function parseUntil(text: string, timezone: string, now: number): number {
  const trimmed = text.trim();
  let until: DateTime;
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    until = DateTime.fromISO(trimmed, { zone: timezone }).plus({ days: 1 }).startOf('day');
  } else {
    until = DateTime.fromISO(trimmed, { zone: timezone });
  }
  if (!until.isValid) throw new Error(`invalid --until "${text}": expected a date (YYYY-MM-DD) or an ISO 8601 time`);
  if (until.toMillis() <= now) throw new Error(`invalid --until "${text}": it is not in the future`);
  return until.toMillis();
}
