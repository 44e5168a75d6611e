import { resolve } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnResource, StackProps } from 'aws-cdk-lib';
import * as config from 'aws-cdk-lib/aws-config';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { RuleDefinition } from '../../../../schemas/rule-catalog.ts';
import { CustomRuleRolePrefix, EvaluatorRoleName, evaluatorPolicy } from '../forwarding/member-stack.ts';
import type { Deployment } from '../settings/load-deployment.ts';
import { RepoRoot, nonProductionAccounts } from '../settings/load-deployment.ts';

/** Organization rules are created a few at a time: AWS Config throttles concurrent organization rule operations. */
const ConcurrentRuleOperations = 5;

export interface OrgRulesStackProps extends StackProps {
  readonly deployment: Deployment;
}

/**
 * One region's organization Config rules, one per catalog rule (deployed from the management account or the
 * delegated administrator), and the Lambdas of the custom rules they call.
 */
export class OrgRulesStack extends Stack {
  readonly rules = new Map<string, config.CfnOrganizationConfigRule>();
  readonly functions = new Map<string, nodejs.NodejsFunction>();

  constructor(scope: Construct, id: string, props: OrgRulesStackProps) {
    super(scope, id, props);
    const { settings, rules, registry } = props.deployment;
    const excluded = registry ? nonProductionAccounts(registry) : [];

    const customRules = rules.filter((rule) => rule.custom);
    const role = customRules.length > 0 ? this.customRuleRole() : undefined;
    const globalResourcesRegion = settings.globalResourcesRegion ?? settings.centralRegion;

    const created: CfnResource[] = [];
    rules.forEach((rule, index) => {
      const description = rule.title.slice(0, 256);
      const excludedAccounts = rule.scope === 'ProductionOnly' && excluded.length > 0 ? excluded : undefined;
      const inputParameters = rule.inputParameters ? JSON.stringify(rule.inputParameters) : undefined;
      let orgRule: config.CfnOrganizationConfigRule;
      if (rule.custom) {
        const fn = this.customRuleFunction(rule, role!, globalResourcesRegion);
        const permission = new lambda.CfnPermission(this, `${pascal(rule.name)}ConfigInvoke`, {
          action: 'lambda:InvokeFunction',
          functionName: fn.functionArn,
          // Organization rules invoke from every member account: no single source account to pin.
          principal: 'config.amazonaws.com',
        });
        orgRule = new config.CfnOrganizationConfigRule(this, pascal(rule.name), {
          organizationConfigRuleName: rule.name,
          excludedAccounts,
          organizationCustomRuleMetadata: {
            description,
            lambdaFunctionArn: fn.functionArn,
            organizationConfigRuleTriggerTypes: triggerTypes(rule),
            resourceTypesScope: rule.resourceTypes,
            maximumExecutionFrequency: rule.maximumExecutionFrequency,
            inputParameters,
          },
        });
        orgRule.addResourceDependency(permission);
      } else {
        orgRule = new config.CfnOrganizationConfigRule(this, pascal(rule.name), {
          organizationConfigRuleName: rule.name,
          excludedAccounts,
          organizationManagedRuleMetadata: {
            ruleIdentifier: rule.managedRuleIdentifier!,
            description,
            resourceTypesScope: rule.resourceTypes,
            maximumExecutionFrequency: rule.maximumExecutionFrequency,
            inputParameters,
          },
        });
      }
      // Waves of a few rules at a time: each rule waits for the whole previous wave.
      const wave = Math.floor(index / ConcurrentRuleOperations);
      for (const before of created.slice((wave - 1) * ConcurrentRuleOperations, wave * ConcurrentRuleOperations)) orgRule.addResourceDependency(before);
      created.push(orgRule);
      this.rules.set(rule.name, orgRule);
    });
  }

  /** The role the custom rules run as: it assumes each member's evaluator role, or evaluates its own account directly. */
  private customRuleRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'CustomRuleRole', {
      roleName: `${CustomRuleRolePrefix}${stack.region}`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'driftwatch custom Config rules',
      inlinePolicies: {
        assumeEvaluator: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [`arn:${stack.partition}:iam::*:role/${EvaluatorRoleName}`] })],
        }),
        // Organization rules also evaluate this account, which has no StackSet instance: the same rights directly.
        evaluateOwnAccount: evaluatorPolicy(),
      },
    });
    return role;
  }

  private customRuleFunction(rule: RuleDefinition, role: iam.IRole, globalResourcesRegion: string): nodejs.NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${pascal(rule.name)}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
    logGroup.grantWrite(role);
    const fn = new nodejs.NodejsFunction(this, `${pascal(rule.name)}Function`, {
      entry: resolve(RepoRoot, 'infra/aws/custom-rules', rule.name, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      role,
      memorySize: 256,
      // A periodic sweep pages through every image, VPC or user of an account with backoff on throttling.
      timeout: Duration.minutes(5),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { EVALUATOR_ROLE_NAME: EvaluatorRoleName, GLOBAL_RESOURCES_REGION: globalResourcesRegion },
      projectRoot: RepoRoot,
      depsLockFilePath: resolve(RepoRoot, 'package-lock.json'),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // The runtime's SDK v3 serves these calls; bundling it would add megabytes per function.
        externalModules: ['@aws-sdk/*'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });
    this.functions.set(rule.name, fn);
    return fn;
  }
}

/** Change-triggered when the rule names resource types, periodic when it has a frequency (both for the custom rules). */
function triggerTypes(rule: RuleDefinition): string[] {
  const types: string[] = [];
  if (rule.resourceTypes) types.push('ConfigurationItemChangeNotification', 'OversizedConfigurationItemChangeNotification');
  if (rule.maximumExecutionFrequency) types.push('ScheduledNotification');
  return types;
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
