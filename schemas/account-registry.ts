import { z } from 'zod';

export const Environment = z.enum(['production', 'staging', 'development', 'sandbox', 'unknown']);
export type Environment = z.infer<typeof Environment>;

/**
 * One AWS account: who owns it and where its alerts go.
 *
 * @example
 * { id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments', slackChannel: '#payments-alerts' }
 */
export const Account = z.object({
  id: z.string().regex(/^\d{12}$/, 'an AWS account id has 12 digits'),
  name: z.string().min(1),
  environment: Environment,
  owner: z.string().min(1),
  slackChannel: z.string().min(1).optional(),
  /** From AWS Organizations: SUSPENDED / CLOSED accounts stay listed, marked. Absent = active. */
  status: z.enum(['ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE', 'CLOSED', 'REMOVED']).optional(),
});
export type Account = z.infer<typeof Account>;

/**
 * The account registry file. Unknown accounts get `defaults` and are flagged `accountKnown: false`.
 *
 * @example
 * { defaults: { environment: 'unknown', owner: 'unowned', slackChannel: '#compliance-triage' },
 *   accounts: [{ id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments' }] }
 */
export const AccountRegistryFile = z.object({
  defaults: z
    .object({
      environment: Environment.default('unknown'),
      owner: z.string().default('unowned'),
      slackChannel: z.string().default('#compliance-triage'),
    })
    .prefault({}),
  accounts: z.array(Account).default([]),
});
export type AccountRegistryFile = z.infer<typeof AccountRegistryFile>;
