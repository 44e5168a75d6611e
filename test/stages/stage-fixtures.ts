import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import type { DecodedEvent } from '../../stages/decode/decoded-event.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { Batch, Item, RecordOrigin } from '../../stages/stage.ts';

/** The real EventBridge events the product was specified from. */
export const SamplesDir = join(import.meta.dirname, '../fixtures/samples');

export const ShardId = 'shardId-000000000000';

export function sampleFiles(): string[] {
  return readdirSync(SamplesDir).filter((name) => name.endsWith('.json')).sort();
}

export function readSample(file: string): Buffer {
  return readFileSync(join(SamplesDir, file));
}

/** A fresh, mutable copy of the non-compliant sample: the base every malformed variant is made from. */
// `any`: the malformed-input tests mutate arbitrary paths of the JSON.
export function sampleJson(): Record<string, any> {
  return JSON.parse(readSample('compliance-change-noncompliant.json').toString('utf8'));
}

export function sampleEvent(overrides: Partial<ComplianceChangeEvent> = {}): ComplianceChangeEvent {
  return { ...ComplianceChangeEvent.parse(sampleJson()), ...overrides };
}

export function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
}

export function originOf(index: number, shardId = ShardId): RecordOrigin {
  return { shardId, sequenceNumber: String(49_000_000_000 + index) };
}

export function batchOf<T>(values: readonly T[], shardId = ShardId): Batch<T> {
  return { shardId, items: values.map((value, index): Item<T> => ({ origin: originOf(index, shardId), value })) };
}

export function decoded(event: ComplianceChangeEvent): DecodedEvent {
  return { event, raw: encode(event) };
}

/** An enriched event with sensible values; evaluationKey follows the identifying fields unless given. */
export function enrichedEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  const base = {
    eventId: 'event-1',
    accountId: '111122223333',
    region: 'eu-west-1',
    rule: 's3-bucket-public-write-prohibited',
    configRuleName: 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4',
    resourceType: 'AWS::S3::Bucket',
    resourceId: 'my-bucket',
    compliance: 'NON_COMPLIANT' as const,
    previousCompliance: null,
    orderingTime: Date.parse('2026-03-04T10:00:00Z'),
    eventTime: '2026-03-04T10:00:30Z',
    annotation: null,
    evaluationMode: null,
    ruleTitle: 'S3 buckets do not allow public write',
    ruleCategory: 'public-access',
    severity: 'Critical' as const,
    scope: 'All' as const,
    ruleKnown: true,
    accountName: 'payments-prod',
    environment: 'production' as const,
    owner: 'payments',
    slackChannel: '#payments-alerts',
    accountKnown: true,
    inScope: true,
    ...overrides,
  };
  return {
    evaluationKey: evaluationKeyOf(base.accountId, base.region, base.rule, base.resourceType, base.resourceId),
    ...base,
  };
}
