import type { Environment } from '../../schemas/account-registry.ts';
import type { ComplianceType } from '../../schemas/compliance-change-event.ts';
import type { RuleScope, Severity } from '../../schemas/rule-catalog.ts';

/** DELETED: Config removed the evaluation because the resource is gone. */
export type Compliance = ComplianceType | 'DELETED';

/** A validated compliance change with everything the sinks and people need, flat for cheap serialization. */
export interface EnrichedEvent {
  readonly eventId: string;
  /** account|region|rule|resourceType|resourceId: one evaluation of one resource by one rule. */
  readonly evaluationKey: string;
  readonly accountId: string;
  readonly region: string;
  readonly rule: string;
  readonly configRuleName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly compliance: Compliance;
  readonly previousCompliance: ComplianceType | null;
  /** Epoch ms of newEvaluationResult.evaluationResultIdentifier.orderingTimestamp: orders results of one key. */
  readonly orderingTime: number;
  readonly eventTime: string;
  readonly annotation: string | null;
  readonly evaluationMode: string | null;
  readonly ruleTitle: string;
  readonly ruleCategory: string;
  readonly severity: Severity;
  readonly scope: RuleScope;
  readonly ruleKnown: boolean;
  readonly accountName: string;
  readonly environment: Environment;
  readonly owner: string;
  readonly slackChannel: string;
  readonly accountKnown: boolean;
  /** Set by the scope stage: false for a ProductionOnly rule in a non-production account. */
  readonly inScope: boolean;
  /** Absent for events from the stream; set on the changes driftwatch builds itself (reconcile, accounts sync). */
  readonly source?: SyntheticSource;
  /** How findings this event opens are announced when not one alert each (a backfill: one digest, or nothing). */
  readonly notify?: 'digest' | 'silent';
}

export type SyntheticSource = 'reconcile' | 'accounts';

export function evaluationKeyOf(accountId: string, region: string, rule: string, resourceType: string, resourceId: string): string {
  return `${accountId}|${region}|${rule}|${resourceType}|${resourceId}`;
}
