import { GetComplianceDetailsByConfigRuleCommand, GetResourceConfigHistoryCommand, PutEvaluationsCommand } from '@aws-sdk/client-config-service';
import type { Evaluation } from '@aws-sdk/client-config-service';
import { ConfigRuleEvent, ConfigurationItem, InvokingEvent, ruleLocation } from './config-rule-event.ts';
import type { RuleEvaluation } from './config-rule-event.ts';
import type { CustomRule } from './custom-rule.ts';
import type { OpenRuleClients, RuleClients } from './rule-clients.ts';

/** PutEvaluations takes at most 100 evaluations per call. */
const EvaluationsPerCall = 100;
const MaxAnnotation = 256;

export interface CustomRuleResult {
  readonly messageType: string;
  readonly reported: number;
  readonly byCompliance: Readonly<Record<string, number>>;
}

/** Lambda's context: only the function ARN is read (its account is the one evaluated without AssumeRole). */
export interface InvocationContext {
  readonly invokedFunctionArn: string;
}

/**
 * The Lambda handler of a custom rule: parses Config's event, judges the changed resource (NOT_APPLICABLE when it
 * was deleted or left the rule's scope) or sweeps the account on schedule (resources evaluated before and now gone
 * become NOT_APPLICABLE), and reports everything with PutEvaluations under the event's result token.
 */
export function createCustomRuleHandler(rule: CustomRule, openClients: OpenRuleClients) {
  return async (rawEvent: unknown, context: InvocationContext): Promise<CustomRuleResult> => {
    const event = ConfigRuleEvent.parse(rawEvent);
    const invoking = InvokingEvent.parse(JSON.parse(event.invokingEvent));
    const { partition, region } = ruleLocation(event.configRuleArn);
    const clients = await openClients({
      accountId: event.accountId,
      region,
      partition,
      ownAccountId: context.invokedFunctionArn.split(':')[4] ?? '',
      ruleName: rule.name,
    });
    try {
      let evaluations: RuleEvaluation[];
      let orderingTimestamp: Date;
      if (invoking.messageType === 'ScheduledNotification') {
        orderingTimestamp = new Date(invoking.notificationCreationTime);
        evaluations = await sweepWithCleanup(rule, clients, region, event.configRuleName);
      } else {
        const item =
          invoking.messageType === 'ConfigurationItemChangeNotification'
            ? invoking.configurationItem
            : await oversizedItem(clients, invoking.configurationItemSummary);
        orderingTimestamp = new Date(item.configurationItemCaptureTime);
        evaluations = [await evaluateChange(rule, item, event.eventLeftScope, clients)];
      }
      await putEvaluations(clients, evaluations, orderingTimestamp, event.resultToken);
      const byCompliance: Record<string, number> = {};
      for (const evaluation of evaluations) byCompliance[evaluation.compliance] = (byCompliance[evaluation.compliance] ?? 0) + 1;
      return { messageType: invoking.messageType, reported: evaluations.length, byCompliance };
    } finally {
      clients.ec2.destroy();
      clients.iam.destroy();
      clients.config.destroy();
    }
  };
}

async function evaluateChange(rule: CustomRule, item: ConfigurationItem, eventLeftScope: boolean, clients: RuleClients): Promise<RuleEvaluation> {
  const base = { resourceType: item.resourceType, resourceId: item.resourceId };
  if (item.configurationItemStatus === 'ResourceDeleted' || item.configurationItemStatus === 'ResourceDeletedNotRecorded') {
    return { ...base, compliance: 'NOT_APPLICABLE', annotation: 'The resource was deleted.' };
  }
  if (eventLeftScope || item.resourceType !== rule.resourceType || !rule.evaluate) {
    return { ...base, compliance: 'NOT_APPLICABLE', annotation: 'The resource is out of the rule\'s scope.' };
  }
  return rule.evaluate(item, clients);
}

/** The oversized notification carries a summary only: the item comes from the configuration history. */
async function oversizedItem(clients: RuleClients, summary: { resourceType: string; resourceId: string; configurationItemCaptureTime: string }): Promise<ConfigurationItem> {
  const history = await clients.config.send(
    new GetResourceConfigHistoryCommand({
      resourceType: summary.resourceType as never,
      resourceId: summary.resourceId,
      laterTime: new Date(summary.configurationItemCaptureTime),
      limit: 1,
    }),
  );
  const found = history.configurationItems?.[0];
  if (!found) throw new Error(`no configuration history for ${summary.resourceType} ${summary.resourceId}`);
  // The API spells a few fields differently from the invoking event, and gives the configuration as a string.
  return ConfigurationItem.parse({
    configurationItemCaptureTime: found.configurationItemCaptureTime?.toISOString(),
    configurationItemStatus: found.configurationItemStatus,
    resourceType: found.resourceType,
    resourceId: found.resourceId,
    resourceName: found.resourceName,
    awsAccountId: found.accountId,
    awsRegion: found.awsRegion,
    configuration: found.configuration ? JSON.parse(found.configuration) : null,
  });
}

async function sweepWithCleanup(rule: CustomRule, clients: RuleClients, region: string, configRuleName: string): Promise<RuleEvaluation[]> {
  const sweep = rule.sweep(clients, region);
  if (!sweep) return [];
  const evaluations: RuleEvaluation[] = [];
  const seen = new Set<string>();
  for await (const evaluation of sweep) {
    evaluations.push(evaluation);
    seen.add(evaluation.resourceId);
  }
  // A resource judged before and gone now (an image deregistered, a user deleted) must not stay NON_COMPLIANT.
  let nextToken: string | undefined;
  do {
    const page = await clients.config.send(
      new GetComplianceDetailsByConfigRuleCommand({ ConfigRuleName: configRuleName, ComplianceTypes: ['COMPLIANT', 'NON_COMPLIANT'], Limit: 100, NextToken: nextToken }),
    );
    for (const result of page.EvaluationResults ?? []) {
      const qualifier = result.EvaluationResultIdentifier?.EvaluationResultQualifier;
      if (!qualifier?.ResourceId || qualifier.ResourceType !== rule.resourceType || seen.has(qualifier.ResourceId)) continue;
      seen.add(qualifier.ResourceId);
      evaluations.push({ resourceType: rule.resourceType, resourceId: qualifier.ResourceId, compliance: 'NOT_APPLICABLE', annotation: 'The resource no longer exists.' });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return evaluations;
}

async function putEvaluations(clients: RuleClients, evaluations: readonly RuleEvaluation[], orderingTimestamp: Date, resultToken: string): Promise<void> {
  for (let start = 0; start < evaluations.length; start += EvaluationsPerCall) {
    let batch: Evaluation[] = evaluations.slice(start, start + EvaluationsPerCall).map((evaluation) => ({
      ComplianceResourceType: evaluation.resourceType,
      ComplianceResourceId: evaluation.resourceId,
      ComplianceType: evaluation.compliance,
      ...(evaluation.annotation ? { Annotation: evaluation.annotation.slice(0, MaxAnnotation) } : {}),
      OrderingTimestamp: orderingTimestamp,
    }));
    // Config may refuse some evaluations of a call: send those again once, then fail the invocation (Config retries it).
    for (let attempt = 1; batch.length > 0; attempt++) {
      const result = await clients.config.send(new PutEvaluationsCommand({ Evaluations: batch, ResultToken: resultToken }));
      const failed = result.FailedEvaluations ?? [];
      if (failed.length === 0) break;
      if (attempt >= 2) throw new Error(`PutEvaluations refused ${failed.length} evaluations, e.g. ${failed[0]?.ComplianceResourceType} ${failed[0]?.ComplianceResourceId}`);
      batch = failed;
    }
  }
}
