import { ListAccountsForParentCommand, ListOrganizationalUnitsForParentCommand, ListRootsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-organizations';
import type { Account, OrganizationsClient } from '@aws-sdk/client-organizations';
import { callAws } from '../reconcile/aws-call.ts';
import type { AwsCallOptions } from '../reconcile/aws-call.ts';
import type { OrganizationAccount, OrganizationAccountState } from './organization-account.ts';

/** Tag reads in flight at once: Organizations throttles per account at a few calls per second. */
const TagConcurrency = 4;

/**
 * Every account of the organization with its OU path and tags. Walks the OU tree from the root (ListRoots,
 * ListOrganizationalUnitsForParent, ListAccountsForParent): one call per OU instead of a ListParents chain per
 * account, and the accounts come with their path. Tags take one ListTagsForResource per account (no batch API).
 */
export async function readOrganization(client: OrganizationsClient, options: AwsCallOptions): Promise<OrganizationAccount[]> {
  const send = <T>(call: () => Promise<T>) => callAws(call, options);
  const roots = await send(() => client.send(new ListRootsCommand({})));
  const queue = (roots.Roots ?? []).map((root) => ({ id: root.Id!, path: root.Name ?? 'Root' }));
  const listed: { account: Account; path: string }[] = [];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    let token: string | undefined;
    do {
      const page = await send(() => client.send(new ListAccountsForParentCommand({ ParentId: parent.id, MaxResults: 20, ...(token ? { NextToken: token } : {}) })));
      for (const account of page.Accounts ?? []) listed.push({ account, path: parent.path });
      token = page.NextToken;
    } while (token);
    do {
      const page = await send(() => client.send(new ListOrganizationalUnitsForParentCommand({ ParentId: parent.id, MaxResults: 20, ...(token ? { NextToken: token } : {}) })));
      for (const unit of page.OrganizationalUnits ?? []) queue.push({ id: unit.Id!, path: `${parent.path}/${unit.Name ?? unit.Id}` });
      token = page.NextToken;
    } while (token);
  }
  const accounts: OrganizationAccount[] = new Array(listed.length);
  let next = 0;
  const worker = async () => {
    while (next < listed.length) {
      const i = next++;
      const { account, path } = listed[i]!;
      const tags: Record<string, string> = {};
      let token: string | undefined;
      do {
        const page = await send(() => client.send(new ListTagsForResourceCommand({ ResourceId: account.Id!, ...(token ? { NextToken: token } : {}) })));
        for (const tag of page.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
        token = page.NextToken;
      } while (token);
      accounts[i] = {
        id: account.Id!,
        name: account.Name ?? account.Id!,
        email: account.Email ?? null,
        state: stateOf(account),
        joinedAt: account.JoinedTimestamp ? account.JoinedTimestamp.getTime() : null,
        ouPath: path,
        tags,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(TagConcurrency, listed.length) }, worker));
  return accounts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** State is the current field (it has CLOSED); Status is what older organizations still return. */
function stateOf(account: Account): OrganizationAccountState {
  const value = account.State ?? account.Status ?? 'ACTIVE';
  return (['ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE', 'CLOSED', 'PENDING_ACTIVATION'] as const).find((s) => s === value) ?? 'ACTIVE';
}
