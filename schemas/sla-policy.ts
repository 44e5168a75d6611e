import { z } from 'zod';

const Duration = z.object({
  hours: z.number().positive().optional(),
  days: z.number().positive().optional(),
  businessDays: z.number().int().positive().optional(),
}).refine((d) => [d.hours, d.days, d.businessDays].filter((v) => v !== undefined).length === 1, {
  message: 'give exactly one of hours, days, businessDays',
});

/**
 * How long each severity has before escalation, and the business calendar that counts business days.
 *
 * @example
 * { timezone: 'Asia/Tokyo', weekend: [6, 7], holidays: ['2026-01-01'],
 *   severities: { Critical: { within: { hours: 24 }, escalate: true }, High: { within: { businessDays: 3 }, escalate: true },
 *                 Medium: { within: { days: 30 }, escalate: false } } }
 */
export const SlaPolicyFile = z.object({
  timezone: z.string().default('UTC'),
  /** ISO weekday numbers (Monday = 1 ... Sunday = 7). */
  weekend: z.array(z.number().int().min(1).max(7)).default([6, 7]),
  holidays: z.array(z.iso.date()).default([]),
  severities: z
    .partialRecord(
      z.enum(['Critical', 'High', 'Medium', 'Low']),
      z.object({ within: Duration, escalate: z.boolean().default(false) }),
    )
    .default({
      Critical: { within: { hours: 24 }, escalate: true },
      High: { within: { businessDays: 3 }, escalate: true },
      Medium: { within: { days: 30 }, escalate: false },
      Low: { within: { days: 90 }, escalate: false },
    }),
});
export type SlaPolicyFile = z.infer<typeof SlaPolicyFile>;
