import { DateTime } from 'luxon';
import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import type { Severity } from '../../schemas/rule-catalog.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';

const DayMs = 86_400_000;

const Severities: readonly Severity[] = ['Critical', 'High', 'Medium', 'Low'];
// A weekend plus a year of holidays cannot hide more days than this: past it the calendar is broken, not busy.
const MaxCalendarDaysScanned = 3_660;

/**
 * Deadlines by severity. Hours are elapsed time (24 hours is 24 hours, even across a DST change); days are calendar
 * days keeping the local time of day. Business days count business time in the calendar's timezone: a High finding
 * opened Friday 15:00 with 3 business days is due Wednesday 15:00; one opened on a Saturday or a holiday starts its
 * clock at the next business day's midnight, so it is due at the end of that third business day.
 */
export class SlaPolicy {
  readonly #file: SlaPolicyFile;
  readonly #holidays: ReadonlySet<string>;
  readonly #weekend: ReadonlySet<number>;
  readonly #utc: boolean;
  readonly #utcBusinessDays = new Map<string, { readonly days?: number; readonly at?: number }>();

  constructor(file: SlaPolicyFile) {
    if (!DateTime.local().setZone(file.timezone).isValid) throw new ConfigFileError(`SLA policy timezone ${file.timezone} is not a known IANA timezone`);
    if (new Set(file.weekend).size >= 7) throw new ConfigFileError('SLA policy weekend covers every day: at least one weekday must be a business day');
    this.#file = file;
    this.#holidays = new Set(file.holidays);
    this.#weekend = new Set(file.weekend);
    this.#utc = DateTime.local().setZone(file.timezone).offset === 0 && ['UTC', 'Etc/UTC', 'utc', 'Z', 'Etc/GMT', 'GMT'].includes(file.timezone);
  }

  static defaults(): SlaPolicy {
    return new SlaPolicy(SlaPolicyFile.parse({}));
  }

  get timezone(): string {
    return this.#file.timezone;
  }

  /** How long after an escalation (or the previous reminder) security is reminded again. */
  get reminderIntervalMs(): number {
    return Math.round(this.#file.reminderEveryHours * 3_600_000);
  }

  /** Whether findings of this severity escalate to security once past their deadline. */
  escalates(severity: Severity): boolean {
    return this.#file.severities[severity]?.escalate ?? false;
  }

  /** The severities that escalate and have a deadline. */
  escalatingSeverities(): Severity[] {
    return Severities.filter((severity) => this.escalates(severity) && this.#file.severities[severity]?.within);
  }

  /** Epoch ms of the deadline of a finding opened at `openedAt`, or null when the severity has no SLA. */
  deadline(openedAt: number, severity: Severity): number | null {
    const within = this.#file.severities[severity]?.within;
    if (!within) return null;
    if (within.hours !== undefined) return openedAt + Math.round(within.hours * 3_600_000);
    if (this.#utc) return this.#utcDeadline(openedAt, severity, within);
    const start = DateTime.fromMillis(openedAt, { zone: this.#file.timezone });
    if (within.days !== undefined) return start.plus({ days: within.days }).toMillis();
    return this.#addBusinessDays(start, within.businessDays ?? 0).toMillis();
  }

  #addBusinessDays(start: DateTime, count: number): DateTime {
    let base = start;
    let scanned = 0;
    // Business time does not run on a non-business day: start at the next business day's midnight.
    if (!this.isBusinessDay(base)) {
      let offset = 0;
      do this.#guard(++scanned);
      while (!this.isBusinessDay(start.startOf('day').plus({ days: ++offset })));
      base = start.startOf('day').plus({ days: offset }).startOf('day');
    }
    let offset = 0;
    let remaining = count;
    while (remaining > 0) {
      this.#guard(++scanned);
      // Always from the base, never step by step: plus({ days }) keeps the local time of day across DST changes,
      // but a step landing in a spring-forward gap (02:30 that does not exist) would carry 03:30 to every later day.
      if (this.isBusinessDay(base.plus({ days: ++offset }))) remaining--;
    }
    return base.plus({ days: offset });
  }

  #guard(scanned: number): void {
    if (scanned > MaxCalendarDaysScanned) throw new ConfigFileError(`SLA policy calendar has no business day within ${MaxCalendarDaysScanned} days`);
  }

  // The hot path (every opened finding). In UTC a day is always 86,400,000 ms, and a business-day deadline depends
  // only on the opening's date: either "same time of day, N days later" or "end of the Nth business day". So luxon
  // runs once per severity and date, and every other finding of that day is arithmetic.
  #utcDeadline(openedAt: number, severity: Severity, within: { days?: number | undefined; businessDays?: number | undefined }): number {
    if (within.days !== undefined) return openedAt + within.days * DayMs;
    const day = Math.floor(openedAt / DayMs);
    const key = `${severity}|${day}`;
    let rule = this.#utcBusinessDays.get(key);
    if (!rule) {
      const start = DateTime.fromMillis(openedAt, { zone: 'UTC' });
      const due = this.#addBusinessDays(start, within.businessDays ?? 0).toMillis();
      rule = this.isBusinessDay(start) ? { days: Math.round((due - openedAt) / DayMs) } : { at: due };
      if (this.#utcBusinessDays.size > 10_000) this.#utcBusinessDays.clear();
      this.#utcBusinessDays.set(key, rule);
    }
    return rule.at ?? openedAt + (rule.days ?? 0) * DayMs;
  }

  isBusinessDay(day: DateTime): boolean {
    const local = day.setZone(this.#file.timezone);
    return !this.#weekend.has(local.weekday) && !this.#holidays.has(local.toISODate() ?? '');
  }

  /** The calendar date (YYYY-MM-DD) of an instant in the policy's timezone: the day a snapshot belongs to. */
  localDate(at: number): string {
    return DateTime.fromMillis(at, { zone: this.#file.timezone }).toISODate() ?? '';
  }

  /** An instant as people of the company read it, e.g. `2026-03-11 15:00 EDT`, for Slack and the CLI. */
  formatLocal(at: number): string {
    return DateTime.fromMillis(at, { zone: this.#file.timezone }).toFormat('yyyy-MM-dd HH:mm ZZZZ');
  }
}
