import { z } from 'zod';

const Duration = z.object({
  hours: z.number().positive().optional(),
  days: z.number().positive().optional(),
  businessDays: z.number().int().positive().optional(),
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
  holidays: z.array(z.iso.date()).default([]),
  /** Cadence of reminders to security after the first escalation, until the finding resolves. */
  reminderEveryHours: z.number().positive().default(24),
  severities: z
    .partialRecord(z.enum(['Critical', 'High', 'Medium', 'Low']), SeveritySla)
    .default({})
    .transform((given) => ({ ...DefaultSeveritySlas, ...given })),
});
export type SlaPolicyFile = z.infer<typeof SlaPolicyFile>;
