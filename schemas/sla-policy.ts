import { z } from 'zod';

// Ten years is past any SLA a person means; larger values (1e300 hours, 100,000,000 business days) would load and then
// fail or stall while findings are processed, so they fail here, at load, with the field named.
const MaxHours = 87_600;
const MaxDays = 3_650;
// Counting business days scans the calendar day by day (up to ten years of it, holidays included).
const MaxBusinessDays = 2_000;
/** How far the SLA policy scans its calendar for business days (stages/track/sla-policy.ts keeps the same bound). */
export const MaxCalendarDays = 3_660;

const Duration = z.object({
  hours: z.number().positive().max(MaxHours, `at most ${MaxHours} hours (ten years)`).optional(),
  days: z.number().positive().max(MaxDays, `at most ${MaxDays} days (ten years)`).optional(),
  businessDays: z.number().int().positive().max(MaxBusinessDays, `at most ${MaxBusinessDays} business days`).optional(),
}).refine((d) => [d.hours, d.days, d.businessDays].filter((v) => v !== undefined).length === 1, {
  message: 'give exactly one of hours, days, businessDays',
});

/**
 * One severity's SLA: how long the owner has, and whether security steps in once it has passed.
 * `within: null` means no deadline at all.
 *
 * @example
 * { within: { businessDays: 3 }, escalate: true }
 */
export const SeveritySla = z.object({
  within: Duration.nullable(),
  escalate: z.boolean().default(false),
});
export type SeveritySla = z.infer<typeof SeveritySla>;

/** The origin case's defaults: Critical at once (24 h), High in 3 business days, Medium planned (30 days, no escalation). */
export const DefaultSeveritySlas: Readonly<Record<'Critical' | 'High' | 'Medium' | 'Low', SeveritySla>> = {
  Critical: { within: { hours: 24 }, escalate: true },
  High: { within: { businessDays: 3 }, escalate: true },
  Medium: { within: { days: 30 }, escalate: false },
  Low: { within: { days: 90 }, escalate: false },
};

/**
 * How long each severity has before escalation, and the business calendar that counts business days.
 * A file that names only some severities keeps the defaults for the others.
 *
 * @example
 * { timezone: 'Asia/Tokyo', weekend: [6, 7], holidays: ['2026-01-01'], reminderEveryHours: 24,
 *   severities: { Critical: { within: { hours: 24 }, escalate: true }, High: { within: { businessDays: 3 }, escalate: true },
 *                 Medium: { within: { days: 30 }, escalate: false } } }
 */
export const SlaPolicyFile = z.object({
  timezone: z.string().default('UTC'),
  /** ISO weekday numbers (Monday = 1 ... Sunday = 7). */
  weekend: z
    .array(z.number().int().min(1).max(7))
    .default([6, 7])
    // Otherwise no business day exists and a business-day deadline never arrives.
    .refine((days) => new Set(days).size < 7, { message: 'at least one weekday must be a business day' }),
  /** Dates (YYYY-MM-DD) in the calendar's timezone. */
  holidays: z.array(z.iso.date()).max(10_000, 'at most 10,000 holidays').default([]),
  /** Cadence of reminders to security after the first escalation, until the finding resolves (a minute to a year). */
  reminderEveryHours: z.number().min(1 / 60, 'at least 1/60 hour (one minute)').max(8_760, 'at most 8760 hours (a year)').default(24),
  severities: z
    .partialRecord(z.enum(['Critical', 'High', 'Medium', 'Low']), SeveritySla)
    .default({})
    .transform((given) => ({ ...DefaultSeveritySlas, ...given })),
}).superRefine((file, context) => {
  // The deadline of N business days must lie within the ten years of calendar the policy scans (stages/track/sla-policy.ts):
  // a long weekend and many holidays stretch it.
  const businessDaysPerWeek = 7 - new Set(file.weekend).size;
  for (const [severity, sla] of Object.entries(file.severities)) {
    const businessDays = sla?.within?.businessDays;
    if (businessDays === undefined) continue;
    const span = Math.ceil(businessDays / businessDaysPerWeek) * 7 + file.holidays.length + 7;
    if (span > MaxCalendarDays) {
      context.addIssue({
        code: 'custom',
        path: ['severities', severity, 'within', 'businessDays'],
        message: `${businessDays} business days do not fit in ten years of this calendar (${businessDaysPerWeek} business day(s) a week, ${file.holidays.length} holidays)`,
      });
    }
  }
});
export type SlaPolicyFile = z.infer<typeof SlaPolicyFile>;
