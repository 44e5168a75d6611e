import { CfnCondition, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ComplianceChangePattern } from '../central/compliance-stream.ts';

/** Role the custom-rule Lambdas assume in each member account (created once per account, in the evaluator region). */
export const EvaluatorRoleName = 'driftwatch-config-rule-evaluator';
/** Prefix of the custom-rule Lambdas' roles in the management (or delegated admin) account. */
export const CustomRuleRolePrefix = 'driftwatch-custom-rules-';

/**
 * What every member account gets in every region (the StackSet's template): a rule on the default bus forwarding
 * compliance changes to the central bus, and, in one region per account, the role the custom rules evaluate with.
 * Parameters instead of context: one template serves every account and region.
 */
export class MemberStack extends Stack {
  readonly forwardingRule: events.Rule;
  readonly evaluatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const centralBusArn = new CfnParameter(this, 'CentralEventBusArn', {
      type: 'String',
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/.+$',
      description: 'ARN of the central driftwatch event bus',
    });
    const evaluatorRegion = new CfnParameter(this, 'EvaluatorRegion', { type: 'String', description: 'The one region per account that holds the (global) evaluator role' });
    const ruleAccount = new CfnParameter(this, 'CustomRuleAccountId', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'Account of the custom-rule Lambdas (management or delegated administrator)',
    });

    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', centralBusArn.valueAsString);
    const forwardingRole = new iam.Role(this, 'ForwardingRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'driftwatch: EventBridge forwards compliance changes to the central bus',
    });
    this.forwardingRule = new events.Rule(this, 'ForwardComplianceChanges', {
      description: 'driftwatch: forward AWS Config compliance changes to the central account',
      eventPattern: ComplianceChangePattern,
      targets: [new targets.EventBus(centralBus, { role: forwardingRole })],
    });

    const isEvaluatorRegion = new CfnCondition(this, 'IsEvaluatorRegion', { expression: Fn.conditionEquals(Stack.of(this).region, evaluatorRegion.valueAsString) });
    this.evaluatorRole = new iam.Role(this, 'EvaluatorRole', {
      roleName: EvaluatorRoleName,
      description: 'driftwatch custom Config rules: read what the rules check and report evaluations',
      assumedBy: new iam.AccountPrincipal(ruleAccount.valueAsString).withConditions({
        ArnLike: { 'aws:PrincipalArn': `arn:${Stack.of(this).partition}:iam::${ruleAccount.valueAsString}:role/${CustomRuleRolePrefix}*` },
      }),
      inlinePolicies: { evaluate: evaluatorPolicy() },
    });
    (this.evaluatorRole.node.defaultChild as iam.CfnRole).cfnOptions.condition = isEvaluatorRegion;
  }
}

/** What the three custom rules read and write; Describe/List calls of EC2 and IAM have no resource-level scoping. */
export function evaluatorPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'ReportEvaluations',
        actions: ['config:PutEvaluations', 'config:GetComplianceDetailsByConfigRule', 'config:GetResourceConfigHistory'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadCheckedResources',
        actions: ['ec2:DescribeImages', 'ec2:DescribeVpcs', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeFlowLogs', 'iam:ListUsers', 'iam:GetLoginProfile'],
        resources: ['*'],
      }),
    ],
  });
}
