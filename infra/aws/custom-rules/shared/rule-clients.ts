import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/** Static or assumed-role credentials, as the SDK clients take them. */
export interface RuleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** The SDK clients a rule evaluates with, bound to the evaluated account and region. */
export interface RuleClients {
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
  readonly config: ConfigServiceClient;
}

export interface RuleTarget {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  /** The account the function runs in: evaluated with its own role, there is no evaluator role to assume. */
  readonly ownAccountId: string;
  readonly ruleName: string;
}

export type OpenRuleClients = (target: RuleTarget) => Promise<RuleClients>;

export interface AwsClientOptions {
  /** Name of the role in each member account (MemberStack's evaluator role). */
  readonly evaluatorRoleName: string;
  /** Endpoint override for every service (tests: a local server speaking the services' protocols). */
  readonly endpoint?: string;
  readonly credentials?: RuleCredentials;
  readonly maxAttempts?: number;
}

/** Real SDK clients: in a member account through STS AssumeRole of its evaluator role, in the own account directly. */
export function awsRuleClients(options: AwsClientOptions): OpenRuleClients {
  const common = {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Config and IAM throttle hard: the SDK's adaptive mode backs off for the whole client.
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 8,
  } as const;
  return async (target) => {
    let credentials = options.credentials;
    if (target.accountId !== target.ownAccountId) {
      const sts = new STSClient({ ...common, region: target.region });
      const assumed = await sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:${target.partition}:iam::${target.accountId}:role/${options.evaluatorRoleName}`,
          RoleSessionName: `driftwatch-${target.ruleName}`.slice(0, 64),
          DurationSeconds: 900,
        }),
      );
      const c = assumed.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole into ${target.accountId} returned no credentials`);
      credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      sts.destroy();
    }
    const config = { ...common, region: target.region, ...(credentials ? { credentials } : {}) };
    return { ec2: new EC2Client(config), iam: new IAMClient(config), config: new ConfigServiceClient(config) };
  };
}
