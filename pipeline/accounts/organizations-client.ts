import { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Settings } from '../../schemas/settings.ts';
import { awsClientConfig } from '../reconcile/aws-call.ts';
import type { TagKeys } from './organization-account.ts';

/** Organizations is a global service served from us-east-1 (the management account or a delegated administrator). */
export function createOrganizationsClient(settings: Settings): OrganizationsClient {
  return new OrganizationsClient(
    awsClientConfig({
      region: 'us-east-1',
      ...(settings.ORGANIZATIONS_ENDPOINT ? { endpoint: settings.ORGANIZATIONS_ENDPOINT } : {}),
      ...(settings.DRIFTWATCH_ORGANIZATIONS_ROLE_ARN ? { roleArn: settings.DRIFTWATCH_ORGANIZATIONS_ROLE_ARN } : {}),
      sessionName: 'driftwatch-accounts-sync',
    }),
  );
}

export function tagKeysOf(settings: Settings): TagKeys {
  return { environment: settings.DRIFTWATCH_TAG_ENVIRONMENT, owner: settings.DRIFTWATCH_TAG_OWNER, slackChannel: settings.DRIFTWATCH_TAG_SLACK_CHANNEL };
}
