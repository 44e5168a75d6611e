import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CentralStack } from '../central/central-stack.ts';
import type { ForwardingStack } from '../forwarding/forwarding-stack.ts';
import type { MemberStack } from '../forwarding/member-stack.ts';
import type { OrgRulesStack } from '../org-rules/org-rules-stack.ts';

/**
 * Every cdk-nag (AwsSolutions) finding this app accepts, each on the construct it concerns and with the reason a
 * reviewer needs. Anything not listed here fails synth.
 */
export interface Suppression {
  readonly path: string;
  readonly ids: readonly string[];
  readonly reason: string;
}

const KmsGrant = ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]'];

export function suppressCentral(stack: CentralStack): void {
  const bucketArn = `<${Stack.of(stack).getLogicalId(stack.archive.bucket.node.defaultChild as CfnElement)}.Arn>`;
  const suppressions: Suppression[] = [
    {
      path: 'Compliance/Stream/EventsRole/DefaultPolicy/Resource',
      ids: KmsGrant,
      reason: "CDK's grant for EventBridge to write the KMS-encrypted stream: the kms wildcards name data-key variants of one action on the stream's own key only.",
    },
    {
      path: 'Archive/DeliveryStream/S3 Destination Role/DefaultPolicy/Resource',
      ids: [...KmsGrant, 'AwsSolutions-IAM5[Action::s3:Abort*]', 'AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'AwsSolutions-IAM5[Action::s3:GetBucket*]', 'AwsSolutions-IAM5[Action::s3:GetObject*]', 'AwsSolutions-IAM5[Action::s3:List*]', `AwsSolutions-IAM5[Resource::${bucketArn}/*]`],
      reason: "Firehose's S3 destination grant as CDK writes it: scoped to the archive bucket, its objects (hence /*) and its key; Firehose needs multipart abort and object reads for its delivery retries.",
    },
    {
      path: 'Compliance/Stream/Resource',
      ids: ['AwsSolutions-KDS3'],
      reason: 'A customer managed key on purpose (a warning, not a defect): one rotated key under our key policy encrypts the stream, the dead-letter queues, the archive and the alarm topic.',
    },
    {
      path: 'Compliance/DeadLetterQueue/Resource',
      ids: ['AwsSolutions-SQS3'],
      reason: "This queue IS a dead-letter queue: the EventBridge target's, which cdk-nag cannot see (it only recognizes SQS redrive policies). Its depth is alarmed.",
    },
    {
      path: 'Archive/DeliveryStream/Resource',
      ids: ['AwsSolutions-KDF1'],
      reason: 'Firehose server-side encryption is unavailable with a Kinesis stream source: records are encrypted in the source stream (KMS) and at rest in S3 with the same customer key.',
    },
    {
      path: 'Consumer/Task/ExecutionRole/DefaultPolicy/Resource',
      ids: ['AwsSolutions-IAM5[Resource::*]'],
      reason: 'ecr:GetAuthorizationToken (image pull) has no resource-level permissions; every other statement of the execution role names its log group, repository or secret.',
    },
    {
      path: 'Consumer/Task/Resource',
      ids: ['AwsSolutions-ECS2'],
      reason: 'Plain environment variables hold non-secret settings only (endpoints, stream name, channels, metrics port); the Slack token and database credentials are ECS secrets from Secrets Manager.',
    },
    {
      path: 'Backends/StateStore/Secret/Resource',
      ids: ['AwsSolutions-SMG4'],
      reason: 'Workers read the database password at start: automatic rotation would cut running workers off until restart. Rotate with a planned rolling restart (README: Deploy to AWS).',
    },
    {
      path: 'Backends/StateStore/Resource',
      ids: ['AwsSolutions-RDS6'],
      reason: 'driftwatch authenticates with a Secrets Manager password; IAM auth tokens expire after 15 minutes and its long-lived connection pool does not renew them.',
    },
    {
      path: 'Backends/Search/Resource',
      ids: ['AwsSolutions-OS3', 'AwsSolutions-OS4', 'AwsSolutions-OS5'],
      reason: 'The domain is reachable only inside the VPC through its security group (consumer only) and its access policy names the consumer role; two data nodes across two zones suffice for driftwatch indices, so no dedicated masters.',
    },
    {
      path: 'Consumer/StreamHandler/ServiceRole/Resource',
      ids: ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]'],
      reason: 'AWS-managed policies Lambda needs to write its logs and attach to the VPC (network interfaces); nothing beyond that.',
    },
    {
      path: 'Consumer/OutboxHandler/ServiceRole/Resource',
      ids: ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]'],
      reason: 'AWS-managed policies Lambda needs to write its logs and attach to the VPC (network interfaces); nothing beyond that.',
    },
  ];
  const searchArn = stack.backends.domain
    ? `<${Stack.of(stack).getLogicalId(stack.backends.domain.node.defaultChild as CfnElement)}.Arn>`
    : stack.settings.search.mode === 'existing' && stack.settings.search.auth === 'sigv4' && stack.settings.search.service === 'es'
      ? stack.settings.search.domainArn
      : undefined;
  for (const role of ['Consumer/Task/TaskRole', 'Consumer/StreamHandler/ServiceRole', 'Consumer/OutboxHandler/ServiceRole']) {
    const lambdaRole = role.includes('Handler');
    suppressions.push({
      path: `${role}/DefaultPolicy/Resource`,
      ids: [...(lambdaRole ? KmsGrant : []), ...(searchArn ? [`AwsSolutions-IAM5[Resource::${searchArn}/*]`] : [])],
      reason:
        'OpenSearch HTTP calls (es:ESHttp*) on the one domain, whose index paths need /*; for the Lambda handlers also the data-key variants of KMS on the stack key (sending failed-batch records to the encrypted failure queue).',
    });
  }
  suppressions.push(
    {
      path: 'Consumer/FailureQueue/Resource',
      ids: ['AwsSolutions-SQS3'],
      reason: "This queue IS a dead-letter destination: the event source mapping's on-failure destination, which cdk-nag cannot see (it only recognizes SQS redrive policies). Its depth is alarmed.",
    },
  );
  const logPolicy = stack.backends.domain?.node.children.find((child) => child.node.id.startsWith('ESLogGroupPolicy'));
  if (logPolicy) {
    acknowledge(logPolicy, ['AwsSolutions-IAM5[Resource::*]'], "CDK's custom resource that lets the OpenSearch domain write its slow/app logs: logs:PutResourcePolicy has no resource-level permissions.");
  }
  apply(stack, suppressions);
  // CDK's own helper Lambdas (log retention of the Aurora log group, OpenSearch log resource policy).
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('LogRetention')) {
      acknowledge(child, ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'AwsSolutions-IAM5[Resource::*]'], "CDK's log-retention helper (sets the Aurora log group's retention): logs:PutRetentionPolicy on log groups that exist only after deployment.");
    }
    if (child.node.id.startsWith('AWS679f53fac002430cb0da5b7982bd2287')) {
      acknowledge(child, ['AwsSolutions-L1', 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]'], "CDK's custom-resource helper that sets the OpenSearch log groups' resource policy; its runtime is chosen by aws-cdk-lib.");
    }
  }
}

export function suppressForwarding(_stack: ForwardingStack): void {
  // Nothing to accept: the StackSet's template is checked as its own stack (suppressMember).
}

export function suppressMember(stack: MemberStack): void {
  apply(stack, [
    {
      path: 'EvaluatorRole/Resource',
      ids: ['AwsSolutions-IAM5[Resource::*]'],
      reason: 'config:PutEvaluations and the EC2/IAM Describe/List/GetLoginProfile calls the custom rules make have no resource-level permissions; the role is read-only besides reporting evaluations.',
    },
  ]);
}

export function suppressOrgRules(stack: OrgRulesStack): void {
  if (!stack.node.tryFindChild('CustomRuleRole')) return;
  apply(stack, [
    {
      path: 'CustomRuleRole/Resource',
      ids: ['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/driftwatch-config-rule-evaluator]'],
      reason: 'The rules assume the evaluator role of whichever member account AWS Config invokes them for (known only at run time), and evaluate this account directly with the same read-only Describe/List calls, which have no resource-level permissions.',
    },
  ]);
}

function apply(stack: Stack, suppressions: readonly Suppression[]): void {
  for (const suppression of suppressions) {
    const construct = find(stack, suppression.path);
    if (construct) acknowledge(construct, suppression.ids, suppression.reason);
  }
}

/** Suppressions for optional parts (Aurora, a domain, the Lambda runtime) apply only where those exist. */
function find(stack: Stack, path: string): IConstruct | undefined {
  let node: IConstruct | undefined = stack;
  for (const id of path.split('/')) {
    node = node?.node.tryFindChild(id);
    if (!node) return undefined;
  }
  return node;
}

function acknowledge(construct: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) Validations.of(construct).acknowledge({ id: `AwsSolutions::${id}`, reason });
}
