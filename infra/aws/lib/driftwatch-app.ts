import { join } from 'node:path';
import { App, DefaultStackSynthesizer, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CentralStack } from './central/central-stack.ts';
import { ForwardingStack } from './forwarding/forwarding-stack.ts';
import { MemberStack } from './forwarding/member-stack.ts';
import { suppressCentral, suppressForwarding, suppressMember, suppressOrgRules } from './nag/suppressions.ts';
import { OrgRulesStack } from './org-rules/org-rules-stack.ts';
import type { Deployment } from './settings/load-deployment.ts';

/** CDK's switch for failing synth on validation (cdk-nag) errors; on by default. */
const FailSynthContext = '@aws-cdk/core:failSynthOnValidationErrors';

export interface DriftwatchStacks {
  readonly central: CentralStack;
  readonly forwarding: ForwardingStack;
  readonly orgRules: readonly OrgRulesStack[];
  readonly member: MemberStack;
  /** The member template the StackSet deploys (synthesized on its own, checked by cdk-nag too). */
  readonly memberTemplate: Record<string, unknown>;
}

export interface BuildOptions {
  /** Lambda bundles directory override (synth tests point it at a temporary directory). */
  readonly lambdaBundleDir?: string;
}

/**
 * Every stack of a deployment, with cdk-nag's AwsSolutions checks on each: the central account's stack, the
 * StackSet (management account or delegated admin, one region), and the organization rules of each region.
 */
export function buildDriftwatchApp(app: App, deployment: Deployment, options: BuildOptions = {}): DriftwatchStacks {
  const { settings } = deployment;
  const management = { account: settings.managementAccount, region: settings.centralRegion };

  // The central stack first: its inputs (Lambda bundles) fail fastest.
  const central = new CentralStack(app, 'driftwatch-central', {
    env: { account: settings.centralAccount, region: settings.centralRegion },
    description: 'driftwatch central account: org-only event bus, Kinesis stream, S3 archive, consumer, alarms',
    deployment,
    ...(options.lambdaBundleDir ? { lambdaBundleDir: options.lambdaBundleDir } : {}),
  });
  const failOnNag = app.node.tryGetContext(FailSynthContext) as unknown;
  // Synthesized on its own (no bootstrap resources, parameters instead of context) next to the app's templates.
  const memberApp = new App({ outdir: join(app.outdir, 'member-template'), analyticsReporting: false, context: failOnNag === undefined ? {} : { [FailSynthContext]: failOnNag } });
  const member = new MemberStack(memberApp, 'driftwatch-member', {
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    description: 'driftwatch member account: forward AWS Config compliance changes; custom-rule evaluator role',
  });
  suppressMember(member);
  Validations.of(memberApp).addPlugins(new AwsSolutionsChecks(memberApp));
  const memberAssembly = memberApp.synth();
  const memberArtifact = memberAssembly.getStackByName(member.stackName);

  const forwarding = new ForwardingStack(app, 'driftwatch-forwarding', {
    env: management,
    description: 'driftwatch: StackSet forwarding compliance changes from every member account and region',
    deployment,
    memberTemplate: memberArtifact.template,
  });
  const orgRules = settings.regions.map(
    (region) =>
      new OrgRulesStack(app, `driftwatch-org-rules-${region}`, {
        env: { account: settings.managementAccount, region },
        description: `driftwatch: organization Config rules from the rule catalog (${region})`,
        deployment,
      }),
  );
  suppressCentral(central);
  suppressForwarding(forwarding);
  for (const stack of orgRules) suppressOrgRules(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { central, forwarding, orgRules, member, memberTemplate: memberArtifact.template as Record<string, unknown> };
}

