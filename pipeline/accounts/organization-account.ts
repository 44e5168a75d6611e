import type { Environment } from '../../schemas/account-registry.ts';

export type OrganizationAccountState = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE' | 'CLOSED' | 'PENDING_ACTIVATION';

/** One account as AWS Organizations lists it, with its tags and where it sits in the OU tree. */
export interface OrganizationAccount {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly state: OrganizationAccountState;
  readonly joinedAt: number | null;
  /** `Root/Production/payments`. */
  readonly ouPath: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Which tags carry the registry's fields (DRIFTWATCH_TAG_*). */
export interface TagKeys {
  readonly environment: string;
  readonly owner: string;
  readonly slackChannel: string;
}

/** The registry's fields of an account, from its tags. */
export interface TaggedFields {
  readonly environment: Environment;
  readonly environmentTag: string | null;
  readonly owner: string | null;
  readonly slackChannel: string | null;
}

// Tag values as teams write them. Anything else is `unknown`, which keeps ProductionOnly rules in force: a false alarm
// beats a hidden finding.
const EnvironmentSpellings: readonly [RegExp, Environment][] = [
  [/^(prod|production|prd|live)$/i, 'production'],
  [/^(stg|stage|staging|preprod|pre-prod)$/i, 'staging'],
  [/^(dev|development|develop)$/i, 'development'],
  [/^(sandbox|sbx|playground)$/i, 'sandbox'],
];

export function environmentOfTag(value: string | undefined): Environment {
  if (value === undefined) return 'unknown';
  const trimmed = value.trim();
  for (const [pattern, environment] of EnvironmentSpellings) if (pattern.test(trimmed)) return environment;
  return 'unknown';
}

export function taggedFields(tags: Readonly<Record<string, string>>, keys: TagKeys): TaggedFields {
  const text = (key: string) => {
    const value = tags[key]?.trim();
    return value ? value : null;
  };
  const channel = text(keys.slackChannel);
  return {
    environment: environmentOfTag(tags[keys.environment]),
    environmentTag: text(keys.environment),
    owner: text(keys.owner),
    // Slack channels are addressed as #name or by id (C0123…); a bare name gets its #.
    slackChannel: channel === null ? null : /^[#CGD][A-Z0-9]{8,}$/.test(channel) || channel.startsWith('#') ? channel : `#${channel}`,
  };
}
