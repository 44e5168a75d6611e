import type { AwsJsonService } from '../aws-json-server.ts';
import { AwsServiceError, pageToken, paginate as paginateAll } from '../aws-json-server.ts';
import type { GeneratedOrganization, OrgAccount } from './generated-organization.ts';

/** Organizations' page caps (MaxResults): accounts and units 20, tags 100 per the API reference. */
const MaxAccounts = 20;
const MaxUnits = 20;

/**
 * AWS Organizations (`AWSOrganizationsV20161128`, JSON 1.1) over a GeneratedOrganization: the operations the accounts
 * sync uses to walk the tree (ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent) and read tags
 * (ListTagsForResource), plus ListAccounts. Pages are capped like the real service; unknown ids answer the real errors.
 */
export interface OrganizationsServiceOptions {
  /**
   * Answer the first page of every non-empty listing with no items and a NextToken, as the API reference warns List*
   * operations occasionally do ("always check the NextToken response parameter value, even if you receive an empty
   * result set"): a client that stops at an empty page loses accounts, OUs or tags.
   */
  readonly emptyFirstPages?: boolean;
}

export function organizationsService(org: GeneratedOrganization, options: OrganizationsServiceOptions = {}): AwsJsonService {
  const limit = (input: Record<string, unknown>, max: number) => {
    const requested = input.MaxResults === undefined ? max : Number(input.MaxResults);
    if (!Number.isInteger(requested) || requested < 1 || requested > max) {
      throw new AwsServiceError('InvalidInputException', `MaxResults must be between 1 and ${max}`);
    }
    return requested;
  };
  const paginate = <T>(items: readonly T[], nextToken: unknown, size: number): { page: T[]; nextToken?: string } =>
    options.emptyFirstPages && items.length > 0 && (nextToken === undefined || nextToken === '') ? { page: [], nextToken: pageToken(0) } : paginateAll(items, nextToken, size);
  const parentExists = (id: unknown) => id === org.rootId || org.units.some((u) => u.id === id);
  return {
    targetPrefix: 'AWSOrganizationsV20161128',
    operations: {
      ListRoots: () => ({
        Roots: [{ Id: org.rootId, Arn: `arn:aws:organizations::000000000000:root/o-dw01/${org.rootId}`, Name: 'Root', PolicyTypes: [] }],
      }),
      ListAccounts: (input) => {
        const { page, nextToken } = paginate(org.accounts, input.NextToken, limit(input, MaxAccounts));
        return { Accounts: page.map(accountShape), ...(nextToken ? { NextToken: nextToken } : {}) };
      },
      ListAccountsForParent: (input) => {
        if (!parentExists(input.ParentId)) throw new AwsServiceError('ParentNotFoundException', `parent ${String(input.ParentId)} not found`);
        const children = org.accounts.filter((a) => a.parentId === input.ParentId);
        const { page, nextToken } = paginate(children, input.NextToken, limit(input, MaxAccounts));
        return { Accounts: page.map(accountShape), ...(nextToken ? { NextToken: nextToken } : {}) };
      },
      ListOrganizationalUnitsForParent: (input) => {
        if (!parentExists(input.ParentId)) throw new AwsServiceError('ParentNotFoundException', `parent ${String(input.ParentId)} not found`);
        const children = org.units.filter((u) => u.parentId === input.ParentId);
        const { page, nextToken } = paginate(children, input.NextToken, limit(input, MaxUnits));
        return {
          OrganizationalUnits: page.map((u) => ({ Id: u.id, Name: u.name, Arn: `arn:aws:organizations::000000000000:ou/o-dw01/${u.id}` })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
      ListTagsForResource: (input) => {
        const account = org.accounts.find((a) => a.id === input.ResourceId);
        if (!account) throw new AwsServiceError('TargetNotFoundException', `target ${String(input.ResourceId)} not found`);
        // Small pages (the real cap is higher) so a client that ignores NextToken loses tags in tests.
        const tags = [...account.tags].map(([Key, Value]) => ({ Key, Value }));
        const { page, nextToken } = paginate(tags, input.NextToken, 2);
        return { Tags: page, ...(nextToken ? { NextToken: nextToken } : {}) };
      },
    },
  };
}

function accountShape(account: OrgAccount): Record<string, unknown> {
  return {
    Id: account.id,
    Arn: `arn:aws:organizations::000000000000:account/o-dw01/${account.id}`,
    Email: account.email,
    Name: account.name,
    // Status is the older field (no CLOSED); State is the current one.
    Status: account.state === 'CLOSED' ? 'SUSPENDED' : account.state,
    State: account.state,
    JoinedMethod: 'CREATED',
    // JSON 1.1 timestamps are epoch seconds.
    JoinedTimestamp: account.joinedAt / 1_000,
  };
}
