import type { Environment } from '../../schemas/account-registry.ts';
import type { Severity } from '../../schemas/rule-catalog.ts';
import type { Compliance } from '../enrich/enriched-event.ts';

export type FindingStatus = 'open' | 'resolved';
/** OUT_OF_SCOPE: still non-compliant, but its rule no longer applies there (a ProductionOnly rule, the account is no longer production). */
export type Resolution = 'COMPLIANT' | 'NOT_APPLICABLE' | 'DELETED' | 'OUT_OF_SCOPE';

/** One episode of non-compliance of one evaluation key. Times are epoch ms. */
export interface Finding {
  readonly findingId: string;
  readonly evaluationKey: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly region: string;
  readonly rule: string;
  readonly configRuleName: string;
  readonly ruleTitle: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly severity: Severity;
  readonly environment: Environment;
  readonly owner: string;
  readonly slackChannel: string;
  readonly annotation: string | null;
  readonly status: FindingStatus;
  readonly openedAt: number;
  readonly openedEventId: string;
  readonly deadline: number | null;
  readonly resolvedAt: number | null;
  readonly resolution: Resolution | null;
  readonly resolvedEventId: string | null;
}

/** The fields that say which finding it is and where: every list of findings shows them. */
export type FindingNaming = 'findingId' | 'accountId' | 'accountName' | 'region' | 'rule' | 'ruleTitle' | 'resourceType' | 'resourceId';

/** What is stored per evaluation key: the latest result and the finding it keeps open, if any. */
export interface EvaluationState {
  readonly evaluationKey: string;
  readonly compliance: Compliance;
  readonly orderingTime: number;
  readonly eventId: string;
  readonly inScope: boolean;
  readonly openFinding: Finding | null;
}
