import { createSyntheticOrg, seededRandom } from '../../../pipeline/demo/synthetic-org.ts';

export type OrgAccountState = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE' | 'CLOSED';

export interface OrgAccount {
  readonly id: string;
  name: string;
  readonly email: string;
  state: OrgAccountState;
  readonly tags: Map<string, string>;
  parentId: string;
  readonly joinedAt: number;
}

export interface OrgUnit {
  readonly id: string;
  readonly name: string;
  readonly parentId: string;
}

export interface OrganizationOptions {
  readonly accounts?: number;
  readonly seed?: number;
  /** Accounts left without an Environment tag (their environment is unknown). Default: every 17th. */
  readonly untaggedEvery?: number;
}

// Tag values as teams really write them: the sync maps them onto production/staging/development/sandbox.
const EnvironmentTag: Readonly<Record<string, string>> = { production: 'Production', staging: 'stg', development: 'Dev', sandbox: 'sandbox', unknown: 'unknown' };

/**
 * The state behind the local Organizations service: a root, one OU per environment with a nested OU per team, and
 * accounts tagged Environment / Owner / SlackChannel. Tests change it (re-tag, suspend, close, remove) between syncs.
 */
export class GeneratedOrganization {
  readonly rootId = 'r-dw01';
  readonly units: OrgUnit[] = [];
  readonly accounts: OrgAccount[] = [];

  static generate(options: OrganizationOptions = {}): GeneratedOrganization {
    const org = new GeneratedOrganization();
    const random = seededRandom(options.seed ?? 11);
    const synthetic = createSyntheticOrg({ accounts: options.accounts ?? 100, seed: options.seed ?? 11 });
    const untaggedEvery = options.untaggedEvery ?? 17;
    synthetic.accounts.forEach((account, i) => {
      const environmentOu = org.#unit(`ou-${org.rootId.slice(2)}-${account.environment.slice(0, 4)}0000`, capitalize(account.environment), org.rootId);
      const teamOu = org.#unit(`${environmentOu.id.slice(0, -4)}${hash4(account.owner)}`, account.owner, environmentOu.id);
      const tags = new Map<string, string>([
        ['Owner', account.owner],
        ['SlackChannel', account.slackChannel ?? `#${account.owner}-alerts`],
        ['CostCenter', `cc-${Math.floor(random() * 900) + 100}`],
      ]);
      if ((i + 1) % untaggedEvery !== 0) tags.set('Environment', EnvironmentTag[account.environment] ?? account.environment);
      org.accounts.push({
        id: account.id,
        name: account.name,
        email: `aws+${account.name}@example.com`,
        state: 'ACTIVE',
        tags,
        parentId: teamOu.id,
        joinedAt: Date.UTC(2021, 0, 1) + i * 86_400_000,
      });
    });
    return org;
  }

  account(id: string): OrgAccount {
    const account = this.accounts.find((a) => a.id === id);
    if (!account) throw new Error(`no account ${id}`);
    return account;
  }

  setTag(accountId: string, key: string, value: string | undefined): void {
    const tags = this.account(accountId).tags;
    if (value === undefined) tags.delete(key);
    else tags.set(key, value);
  }

  /** Takes an account out of the organization (it disappears from every listing). */
  remove(accountId: string): void {
    this.accounts.splice(this.accounts.findIndex((a) => a.id === accountId), 1);
  }

  unit(id: string): OrgUnit | undefined {
    return this.units.find((u) => u.id === id);
  }

  /** `Root/Production/payments`: what the sync should record for an account. */
  pathOf(accountId: string): string {
    const names: string[] = [];
    let parent = this.account(accountId).parentId;
    while (parent !== this.rootId) {
      const unit = this.unit(parent)!;
      names.unshift(unit.name);
      parent = unit.parentId;
    }
    return ['Root', ...names].join('/');
  }

  #unit(id: string, name: string, parentId: string): OrgUnit {
    let unit = this.units.find((u) => u.id === id);
    if (!unit) {
      unit = { id, name, parentId };
      this.units.push(unit);
    }
    return unit;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function hash4(text: string): string {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return (h % 0x10000).toString(16).padStart(4, '0');
}
