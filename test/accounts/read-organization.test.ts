import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { readOrganization } from '../../pipeline/accounts/read-organization.ts';
import { awsClientConfig } from '../../pipeline/reconcile/aws-call.ts';
import { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { organizationsService } from '../aws-server/organizations/organizations-service.ts';
import { GeneratedOrganization } from '../aws-server/organizations/generated-organization.ts';

describe('reading the organization when List* answers an empty page with a NextToken', () => {
  // The Organizations API reference: List* operations "can occasionally return an empty set of results even when
  // more results are available"; only a null NextToken ends a listing.
  const org = GeneratedOrganization.generate({ accounts: 25, seed: 4 });
  let server: AwsJsonServer;
  let client: OrganizationsClient;

  beforeAll(async () => {
    server = await AwsJsonServer.start([organizationsService(org, { emptyFirstPages: true })]);
    client = new OrganizationsClient(awsClientConfig({ region: 'us-east-1', endpoint: server.endpoint, sessionName: 'test' }));
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('still reads every account, its OU path and all its tags', async () => {
    const accounts = await readOrganization(client, { signal: new AbortController().signal });
    expect(accounts.map((a) => a.id)).toEqual(org.accounts.map((a) => a.id).sort());
    for (const account of accounts) {
      expect(account.ouPath).toBe(org.pathOf(account.id));
      expect(account.tags).toEqual(Object.fromEntries(org.account(account.id).tags));
    }
    // The quirk was served: empty first pages came back with a token.
    expect(server.callsOf('ListTagsForResource').length).toBeGreaterThan(org.accounts.length * 2);
  });
});
