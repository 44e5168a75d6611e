import { CfnParameter, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import type { Construct } from 'constructs';
import type { Deployment } from '../settings/load-deployment.ts';

export interface ForwardingStackProps extends StackProps {
  readonly deployment: Deployment;
  /** The member template (MemberStack synthesized on its own, without bootstrap resources). */
  readonly memberTemplate: unknown;
}

/** The service-managed StackSet that deploys the member template to every account of the given OUs, in every region. */
export class ForwardingStack extends Stack {
  readonly stackSet: cloudformation.CfnStackSet;

  constructor(scope: Construct, id: string, props: ForwardingStackProps) {
    super(scope, id, props);
    const { settings } = props.deployment;
    const centralBusArn = settings.centralAccount
      ? `arn:aws:events:${settings.centralRegion}:${settings.centralAccount}:event-bus/driftwatch-compliance`
      : new CfnParameter(this, 'CentralEventBusArn', { type: 'String', description: 'EventBusArn output of the central stack' }).valueAsString;
    const ruleAccount = settings.managementAccount ?? Stack.of(this).account;

    this.stackSet = new cloudformation.CfnStackSet(this, 'MemberStackSet', {
      stackSetName: 'driftwatch-member',
      description: 'driftwatch: forward AWS Config compliance changes to the central bus; custom-rule evaluator role',
      permissionModel: 'SERVICE_MANAGED',
      callAs: settings.callAs,
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        failureTolerancePercentage: settings.forwarding.failureTolerancePercentage,
        maxConcurrentPercentage: settings.forwarding.maxConcurrentPercentage,
        regionConcurrencyType: 'PARALLEL',
      },
      parameters: [
        { parameterKey: 'CentralEventBusArn', parameterValue: centralBusArn },
        { parameterKey: 'EvaluatorRegion', parameterValue: settings.globalResourcesRegion ?? settings.centralRegion },
        { parameterKey: 'CustomRuleAccountId', parameterValue: ruleAccount },
      ],
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: settings.forwarding.organizationalUnitIds },
          regions: settings.regions,
        },
      ],
      templateBody: JSON.stringify(props.memberTemplate),
    });
  }
}
