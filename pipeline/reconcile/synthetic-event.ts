import { hash } from 'node:crypto';
import type { ComplianceChangeEvent, ComplianceType, SyntheticMark } from '../../schemas/compliance-change-event.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';

/** A compliance change driftwatch builds itself, to go through the same stages as the stream's events. */
export interface SyntheticChange {
  readonly id: string;
  readonly source: 'driftwatch.reconcile' | 'driftwatch.accounts';
  readonly mark: SyntheticMark;
  readonly accountId: string;
  readonly region: string;
  readonly configRuleName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** DELETED: Config no longer evaluates it (no newEvaluationResult, as Config sends for a deleted resource). */
  readonly compliance: ComplianceType | 'DELETED';
  /** Epoch ms: the orderingTimestamp the change carries (never older than what it corrects). */
  readonly orderingTime: number;
  readonly now: number;
  readonly annotation?: string;
}

/**
 * Deterministic: the same parts give the same id, so a change re-built after a crash is the same event (dedupe drops
 * it, OpenSearch overwrites it, its finding has the same id). `reconcile-`/`accounts-` prefixes keep them apart from
 * AWS's ids and let Postgres index only reconcile's own (migration 0007).
 */
export function syntheticEventId(prefix: 'reconcile' | 'accounts', ...parts: readonly string[]): string {
  // One-shot hash of each part followed by NUL (the bytes an incremental hash of the parts was fed): a backfill makes
  // tens of thousands of these, and a Hash object each was a visible share of its CPU.
  let text = '';
  for (const part of parts) text += `${part}\0`;
  return `${prefix}-${hash('sha256', text, 'base64url').slice(0, 32)}`;
}

/** The EventBridge envelope of a Config Rules Compliance Change, as the decode stage expects it. */
export function syntheticEvent(change: SyntheticChange): ComplianceChangeEvent {
  const ordering = new Date(change.orderingTime).toISOString();
  const now = new Date(change.now).toISOString();
  return {
    version: '0',
    id: change.id,
    'detail-type': 'Config Rules Compliance Change',
    source: change.source,
    driftwatch: change.mark,
    account: change.accountId,
    time: now,
    region: change.region,
    resources: [],
    detail: {
      resourceId: change.resourceId,
      awsRegion: change.region,
      awsAccountId: change.accountId,
      configRuleName: change.configRuleName,
      messageType: 'ComplianceChangeNotification',
      notificationCreationTime: change.compliance === 'DELETED' ? ordering : now,
      resourceType: change.resourceType,
      ...(change.compliance === 'DELETED'
        ? {}
        : {
            newEvaluationResult: {
              evaluationResultIdentifier: {
                evaluationResultQualifier: { configRuleName: change.configRuleName, resourceType: change.resourceType, resourceId: change.resourceId },
                orderingTimestamp: ordering,
              },
              complianceType: change.compliance,
              resultRecordedTime: now,
              ...(change.annotation ? { annotation: change.annotation } : {}),
            },
          }),
    },
  };
}

/** As a record of a pseudo-shard: the event id is its sequence number, so a dead letter of it is recorded once. */
export function syntheticRecord(event: ComplianceChangeEvent, shardId: string): Item<RawRecord> {
  return { origin: { shardId, sequenceNumber: event.id }, value: { data: Buffer.from(JSON.stringify(event), 'utf8') } };
}
