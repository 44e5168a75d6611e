import { hash } from 'node:crypto';
import type { Environment } from '../../schemas/account-registry.ts';
import type { ComplianceType } from '../../schemas/compliance-change-event.ts';
import type { RuleScope, Severity } from '../../schemas/rule-catalog.ts';

/** DELETED: Config removed the evaluation because the resource is gone. */
export type Compliance = ComplianceType | 'DELETED';

/** A validated compliance change with everything the sinks and people need, flat for cheap serialization. */
export interface EnrichedEvent {
  readonly eventId: string;
  /** One evaluation of one resource by one rule: opaque, built by evaluationKeyOf only (the parts are fields of their own). */
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

/**
 * The evaluation key: base64url SHA-256 of the five parts, each prefixed by its UTF-8 length (`<bytes>:<part>`).
 * Joining with a separator was ambiguous (type `A|b` id `c` and type `A` id `b|c` shared a key); the length prefix is
 * not. A hash keeps the key at 43 characters whatever the resource id, so the indexes on it never hit Postgres's
 * btree row limit. Never split it: the parts are columns and fields of their own. Migration 0005 computes the same
 * value in SQL (sha256 of the same text), so keep the two in step.
 */
export function evaluationKeyOf(accountId: string, region: string, rule: string, resourceType: string, resourceId: string): string {
  // One-shot hash, no array: this runs for every event (crypto.hash is half the cost of a createHash object).
  const encoded =
    `${Buffer.byteLength(accountId)}:${accountId}${Buffer.byteLength(region)}:${region}${Buffer.byteLength(rule)}:${rule}` +
    `${Buffer.byteLength(resourceType)}:${resourceType}${Buffer.byteLength(resourceId)}:${resourceId}`;
  return hash('sha256', encoded, 'base64url');
}
