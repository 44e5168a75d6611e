import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';
import { loadSlaPolicy } from '../../pipeline/config/load-sla-policy.ts';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const policy = (input: unknown) => new SlaPolicy(SlaPolicyFile.parse(input));

describe('SLA policy defaults (origin case)', () => {
  const sla = SlaPolicy.defaults();

  it('gives Critical 24 hours, High 3 business days, Medium 30 days, and escalates only Critical and High', () => {
    const monday = at('2026-02-02T10:00:00Z');
    expect(sla.deadline(monday, 'Critical')).toBe(monday + 24 * H);
    expect(iso(sla.deadline(monday, 'High'))).toBe('2026-02-05T10:00:00.000Z');
    expect(iso(sla.deadline(monday, 'Medium'))).toBe('2026-03-04T10:00:00.000Z');
    expect(sla.escalates('Critical')).toBe(true);
    expect(sla.escalates('High')).toBe(true);
    expect(sla.escalates('Medium')).toBe(false);
    expect(sla.escalates('Low')).toBe(false);
    expect(sla.escalatingSeverities()).toEqual(['Critical', 'High']);
    expect(sla.reminderIntervalMs).toBe(24 * H);
    expect(sla.timezone).toBe('UTC');
  });

  it.each([
    ['Friday 15:00 -> Wednesday 15:00 (the weekend does not count)', '2026-02-06T15:00:00Z', '2026-02-11T15:00:00.000Z'],
    ['Thursday 09:00 -> Tuesday 09:00', '2026-02-05T09:00:00Z', '2026-02-10T09:00:00.000Z'],
    ['Saturday 10:00 -> end of Wednesday (clock starts Monday 00:00)', '2026-02-07T10:00:00Z', '2026-02-12T00:00:00.000Z'],
    ['Sunday 23:59 -> end of Wednesday', '2026-02-08T23:59:00Z', '2026-02-12T00:00:00.000Z'],
    ['Monday 00:00 -> Thursday 00:00 (continuous with the weekend case)', '2026-02-09T00:00:00Z', '2026-02-12T00:00:00.000Z'],
    ['Friday 23:59 -> Wednesday 23:59 (before the Saturday case: monotone)', '2026-02-06T23:59:00Z', '2026-02-11T23:59:00.000Z'],
  ])('High: %s', (_name, opened, due) => {
    expect(iso(sla.deadline(at(opened), 'High'))).toBe(due);
  });
});

describe('SLA policy calendar: holidays and weekends', () => {
  const sla = policy({ holidays: ['2026-02-11', '2026-02-16'] });

  it('skips a holiday in the middle of the count', () => {
    // Tuesday 10:00; Wednesday is a holiday: Thursday, Friday, (weekend), Monday is also a holiday, Tuesday.
    expect(iso(sla.deadline(at('2026-02-10T10:00:00Z'), 'High'))).toBe('2026-02-17T10:00:00.000Z');
  });

  it('starts the clock after a holiday the finding opened on', () => {
    // Opened on holiday Wednesday 2026-02-11 09:00: Thursday 00:00 + Thu, Fri, (weekend, Monday holiday), Tue.
    expect(iso(sla.deadline(at('2026-02-11T09:00:00Z'), 'High'))).toBe('2026-02-18T00:00:00.000Z');
  });

  it('does not apply business days to hours and calendar days', () => {
    expect(iso(sla.deadline(at('2026-02-10T10:00:00Z'), 'Critical'))).toBe('2026-02-11T10:00:00.000Z');
    expect(iso(sla.deadline(at('2026-02-10T10:00:00Z'), 'Medium'))).toBe('2026-03-12T10:00:00.000Z');
  });

  it('follows a configured weekend (Friday and Saturday)', () => {
    const gulf = policy({ weekend: [5, 6] });
    // Thursday 12:00: Sunday, Monday, Tuesday.
    expect(iso(gulf.deadline(at('2026-02-05T12:00:00Z'), 'High'))).toBe('2026-02-10T12:00:00.000Z');
  });
});

describe('SLA policy calendar: timezones and DST', () => {
  it('counts business days in the calendar timezone, not UTC', () => {
    const tokyo = policy({ timezone: 'Asia/Tokyo' });
    // Friday 20:00 UTC is Saturday 05:00 in Tokyo: a weekend there, so the clock starts Monday 00:00 JST.
    expect(iso(tokyo.deadline(at('2026-01-09T20:00:00Z'), 'High'))).toBe('2026-01-14T15:00:00.000Z');
    // The same instant in UTC is a Friday evening: due Wednesday evening.
    expect(iso(SlaPolicy.defaults().deadline(at('2026-01-09T20:00:00Z'), 'High'))).toBe('2026-01-14T20:00:00.000Z');
  });

  it('reads holidays as local dates of the calendar timezone', () => {
    const tokyo = policy({ timezone: 'Asia/Tokyo', holidays: ['2026-01-13'] });
    // Monday 2026-01-12 10:00 JST: Tuesday is a holiday in Tokyo: Wed, Thu, Fri.
    expect(iso(tokyo.deadline(at('2026-01-12T01:00:00Z'), 'High'))).toBe('2026-01-16T01:00:00.000Z');
  });

  const ny = policy({ timezone: 'America/New_York' });

  it('keeps the local time of day across the spring-forward change (2026-03-08)', () => {
    // Thursday 2026-03-05 10:00 EST (15:00Z): Fri, Mon, Tue -> Tuesday 10:00 EDT = 14:00Z (one real hour less).
    expect(iso(ny.deadline(at('2026-03-05T15:00:00Z'), 'High'))).toBe('2026-03-10T14:00:00.000Z');
  });

  it('does not carry a skipped hour forward when counting passes through the gap (regression)', () => {
    // Wednesday 2026-03-04 02:00 EST: Thu, Fri, (Sat, Sun 02:00 does not exist), Mon -> Monday 02:00 EDT, not 03:00.
    expect(iso(ny.deadline(at('2026-03-04T07:00:00Z'), 'High'))).toBe('2026-03-09T06:00:00.000Z');
  });

  it('keeps 24 hours as 24 elapsed hours across spring-forward', () => {
    // Saturday 2026-03-07 12:00 EST: 24 h later is Sunday 13:00 EDT.
    const opened = at('2026-03-07T17:00:00Z');
    expect(ny.deadline(opened, 'Critical')).toBe(opened + 24 * H);
    expect(DateTime.fromMillis(opened + 24 * H, { zone: 'America/New_York' }).toFormat('yyyy-MM-dd HH:mm')).toBe('2026-03-08 13:00');
  });

  it('starts a Saturday finding at Monday midnight local time, after the DST change', () => {
    // Saturday 2026-03-07 in New York -> Monday 2026-03-09 00:00 EDT + 3 business days = Thursday 00:00 EDT = 04:00Z.
    expect(iso(ny.deadline(at('2026-03-07T15:00:00Z'), 'High'))).toBe('2026-03-12T04:00:00.000Z');
  });

  it('keeps the local time of day across the fall-back change (2026-11-01)', () => {
    // Friday 2026-10-30 09:00 EDT (13:00Z): Mon, Tue, Wed -> Wednesday 09:00 EST = 14:00Z.
    expect(iso(ny.deadline(at('2026-10-30T13:00:00Z'), 'High'))).toBe('2026-11-04T14:00:00.000Z');
  });

  it('counts 30 calendar days in local time across DST', () => {
    // 2026-02-20 09:00 EST -> 2026-03-22 09:00 EDT.
    expect(iso(ny.deadline(at('2026-02-20T14:00:00Z'), 'Medium'))).toBe('2026-03-22T13:00:00.000Z');
  });

  it('moves a deadline that falls in the spring-forward gap to just after it', () => {
    // Weekend Friday/Saturday, so Sunday 2026-03-08 is a business day; 02:30 does not exist that day in New York.
    const sundayWorks = policy({ timezone: 'America/New_York', weekend: [5, 6], severities: { High: { within: { businessDays: 1 }, escalate: true } } });
    // Thursday 2026-03-05 02:30 EST (07:30Z) + 1 business day (Friday and Saturday are weekend) = Sunday 02:30 -> 03:30 EDT.
    expect(iso(sundayWorks.deadline(at('2026-03-05T07:30:00Z'), 'High'))).toBe('2026-03-08T07:30:00.000Z');
  });

  it('satisfies the business-time definition for any opening instant of 2026 (property)', () => {
    const sla = policy({ timezone: 'America/New_York', holidays: ['2026-01-01', '2026-05-25', '2026-07-03', '2026-11-26', '2026-12-25'] });
    const start = at('2026-01-01T00:00:00Z');
    const end = at('2027-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: start, max: end }), (opened) => {
        const deadline = sla.deadline(opened, 'High')!;
        const open = DateTime.fromMillis(opened, { zone: sla.timezone });
        const due = DateTime.fromMillis(deadline, { zone: sla.timezone });
        expect(deadline).toBeGreaterThan(opened + 3 * 23 * H);
        // Business days strictly after the opening date up to and including the due date (midnight due = the day before).
        const lastDay = sla.isBusinessDay(open) ? due.startOf('day') : due.minus({ days: 1 }).startOf('day');
        let businessDays = 0;
        for (let day = open.startOf('day').plus({ days: 1 }); day <= lastDay; day = day.plus({ days: 1 })) if (sla.isBusinessDay(day)) businessDays++;
        expect(businessDays).toBe(3);
        if (sla.isBusinessDay(open)) {
          // Same local time of day (2026's spring-forward gap is on a Sunday, never a due day here).
          expect(due.toFormat('HH:mm:ss.SSS')).toBe(open.toFormat('HH:mm:ss.SSS'));
        } else {
          // From a non-business day the clock starts at the next business day's midnight: due at a midnight.
          expect(due.toFormat('HH:mm:ss.SSS')).toBe('00:00:00.000');
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('SLA policy file', () => {
  it('keeps the defaults of severities a file does not name, and allows no deadline', () => {
    const sla = policy({ severities: { High: { within: { businessDays: 2 }, escalate: true }, Low: { within: null } } });
    expect(sla.deadline(at('2026-02-02T10:00:00Z'), 'Critical')).toBe(at('2026-02-03T10:00:00Z'));
    expect(iso(sla.deadline(at('2026-02-02T10:00:00Z'), 'High'))).toBe('2026-02-04T10:00:00.000Z');
    expect(sla.deadline(at('2026-02-02T10:00:00Z'), 'Low')).toBeNull();
    expect(sla.escalates('Low')).toBe(false);
  });

  it('takes the reminder cadence and fractional hours', () => {
    const sla = policy({ reminderEveryHours: 4, severities: { Critical: { within: { hours: 0.5 }, escalate: true } } });
    expect(sla.reminderIntervalMs).toBe(4 * H);
    expect(sla.deadline(0, 'Critical')).toBe(H / 2);
  });

  it('rejects a weekend of every day, two durations at once, and an unknown timezone', () => {
    expect(SlaPolicyFile.safeParse({ weekend: [1, 2, 3, 4, 5, 6, 7] }).success).toBe(false);
    expect(SlaPolicyFile.safeParse({ severities: { High: { within: { days: 1, hours: 2 } } } }).success).toBe(false);
    expect(() => policy({ timezone: 'Mars/Olympus_Mons' })).toThrow(ConfigFileError);
  });

  it('loads a YAML file and names the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dw-sla-'));
    const good = join(dir, 'sla.yaml');
    await writeFile(good, 'timezone: Europe/Berlin\nholidays: ["2026-12-24"]\nseverities:\n  Critical:\n    within: { hours: 8 }\n    escalate: true\n');
    const sla = await loadSlaPolicy(good);
    expect(sla.timezone).toBe('Europe/Berlin');
    expect(sla.deadline(0, 'Critical')).toBe(8 * H);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'weekend: [8]\n');
    await expect(loadSlaPolicy(bad)).rejects.toThrow(/bad\.yaml/);
  });

  it('formats local times and dates in the calendar timezone', () => {
    const ny = policy({ timezone: 'America/New_York' });
    expect(ny.localDate(at('2026-03-01T03:00:00Z'))).toBe('2026-02-28');
    expect(ny.formatLocal(at('2026-03-10T14:00:00Z'))).toBe('2026-03-10 10:00 EDT');
  });
});
