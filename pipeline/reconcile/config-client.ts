import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import type { Settings } from '../../schemas/settings.ts';
import { awsClientConfig } from './aws-call.ts';

/** The Config client for the aggregator's account and region (role optional: the aggregator often lives in a delegated admin account). */
export function createConfigClient(settings: Settings): ConfigServiceClient {
  return new ConfigServiceClient(
    awsClientConfig({
      region: settings.DRIFTWATCH_CONFIG_REGION ?? settings.AWS_REGION,
      ...(settings.CONFIG_ENDPOINT ? { endpoint: settings.CONFIG_ENDPOINT } : {}),
      ...(settings.DRIFTWATCH_CONFIG_ROLE_ARN ? { roleArn: settings.DRIFTWATCH_CONFIG_ROLE_ARN } : {}),
      sessionName: 'driftwatch-reconcile',
    }),
  );
}
