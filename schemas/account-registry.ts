import { z } from 'zod';

export const Environment = z.enum(['production', 'staging', 'development', 'sandbox', 'unknown']);
export type Environment = z.infer<typeof Environment>;

/**
 * One AWS account: who owns it and where its alerts go.
 *
 * @example
 * { id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments', slackChannel: '#payments-alerts' }
 */
/**
 * A 12-digit AWS account id. YAML reads an unquoted id as a number: a 12-digit one is taken as it is; a shorter one lost
 * its leading zeros on the way, so the error says to quote it.
 */
export const AccountId = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === 'string') {
    if (/^\d{12}$/.test(value)) return value;
  } else if (Number.isSafeInteger(value) && value >= 100_000_000_000 && value <= 999_999_999_999) {
    return String(value);
  } else if (Number.isSafeInteger(value) && value >= 0 && value < 100_000_000_000) {
    context.addIssue({
      code: 'custom',
      message: `YAML read the id as the number ${value} and dropped its leading zeros: write it in quotes, e.g. "${String(value).padStart(12, '0')}"`,
    });
    return z.NEVER;
  }
  context.addIssue({ code: 'custom', message: 'an AWS account id has 12 digits' });
  return z.NEVER;
});

export const Account = z.object({
  id: AccountId,
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
