import { isoTimestampMillis } from '../../schemas/iso-timestamp.ts';
import type { DecodedEvent } from '../decode/decoded-event.ts';
import type { Batch, Item, Stage, StageResult } from '../stage.ts';
import type { AccountRegistry } from './account-registry.ts';
import { evaluationKeyOf } from './enriched-event.ts';
import type { EnrichedEvent } from './enriched-event.ts';
import { normalizeRuleName } from './normalize-rule-name.ts';
import type { RuleCatalog } from './rule-catalog.ts';

export interface EnrichOptions {
  readonly catalog: RuleCatalog;
  readonly accounts: AccountRegistry;
}

/** Normalizes the rule name and attaches rule severity/scope and account owner/environment/channel. */
export class EnrichStage implements Stage<DecodedEvent, EnrichedEvent> {
  readonly name = 'enrich';
  readonly #catalog: RuleCatalog;
  readonly #accounts: AccountRegistry;
  // A few dozen distinct rule names arrive in thousands of per-account spellings: normalize each once.
  readonly #normalized = new Map<string, string>();

  constructor(options: EnrichOptions) {
    this.#catalog = options.catalog;
    this.#accounts = options.accounts;
  }

  process(batch: Batch<DecodedEvent>): StageResult<EnrichedEvent> {
    const kept: Item<EnrichedEvent>[] = new Array(batch.items.length);
    let i = 0;
    for (const item of batch.items) kept[i++] = { origin: item.origin, value: this.enrichOne(item.value) };
    return { kept, dropped: [], rejected: [] };
  }

  enrichOne({ event }: DecodedEvent): EnrichedEvent {
    const detail = event.detail;
    const result = detail.newEvaluationResult;
    const qualifier = result?.evaluationResultIdentifier.evaluationResultQualifier;
    const configRuleName = qualifier?.configRuleName ?? detail.configRuleName;
    let rule = this.#normalized.get(configRuleName);
    if (rule === undefined) {
      rule = normalizeRuleName(configRuleName);
      this.#normalized.set(configRuleName, rule);
    }
    const { rule: ruleDefinition, known: ruleKnown } = this.#catalog.lookup(rule);
    const { account, known: accountKnown } = this.#accounts.lookup(detail.awsAccountId);
    const resourceType = qualifier?.resourceType ?? detail.resourceType;
    const resourceId = qualifier?.resourceId ?? detail.resourceId;
    const ordering = result?.evaluationResultIdentifier.orderingTimestamp ?? detail.notificationCreationTime;
    const enriched: EnrichedEvent = {
      eventId: event.id,
      evaluationKey: evaluationKeyOf(detail.awsAccountId, detail.awsRegion, rule, resourceType, resourceId),
      accountId: detail.awsAccountId,
      region: detail.awsRegion,
      rule,
      configRuleName,
      resourceType,
      resourceId,
      compliance: result?.complianceType ?? 'DELETED',
      previousCompliance: detail.oldEvaluationResult?.complianceType ?? null,
      orderingTime: isoTimestampMillis(ordering),
      eventTime: event.time,
      annotation: result?.annotation ?? null,
      evaluationMode: qualifier?.evaluationMode ?? null,
      ruleTitle: ruleDefinition.title,
      ruleCategory: ruleDefinition.category,
      severity: ruleDefinition.severity,
      scope: ruleDefinition.scope,
      ruleKnown,
      accountName: account.name,
      environment: account.environment,
      owner: account.owner,
      slackChannel: account.slackChannel ?? '#compliance-triage',
      accountKnown,
      inScope: true,
    };
    // Spread only for driftwatch's own changes: a spread in every literal takes V8 off its fast object-literal path.
    return event.source === 'aws.config' ? enriched : { ...enriched, ...syntheticFields(event.source, event.driftwatch?.notify) };
  }
}

function syntheticFields(source: 'driftwatch.reconcile' | 'driftwatch.accounts', notify: string | undefined): Pick<EnrichedEvent, 'source' | 'notify'> {
  return {
    source: source === 'driftwatch.reconcile' ? 'reconcile' : 'accounts',
    ...(notify === 'digest' || notify === 'silent' ? { notify } : {}),
  };
}
