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
  accounts: z
    .array(Account)
    .default([])
    .superRefine((accounts, context) => {
      // Two entries for one id: which owner and channel would win is an accident of order, so neither does.
      const first = new Map<string, number>();
      accounts.forEach((account, i) => {
        const earlier = first.get(account.id);
        if (earlier === undefined) first.set(account.id, i);
        else context.addIssue({ code: 'custom', path: [i, 'id'], message: `account ${account.id} is listed twice (entries ${earlier + 1} and ${i + 1})` });
      });
    }),
});
export type AccountRegistryFile = z.infer<typeof AccountRegistryFile>;
