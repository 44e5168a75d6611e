import fc from 'fast-check';
import type { Delivery } from '../pipeline/demo/synthetic-org.ts';
import type { ComplianceChangeEvent } from '../schemas/compliance-change-event.ts';
import { complianceEvent } from '../test/support/events.ts';

/** A record no decoder may accept, and why (for the report): each kind is invalid by construction. */
export interface PoisonRecord {
  readonly kind: string;
  readonly data: Buffer;
  readonly partitionKey: string;
}

const MaxRecordBytes = 262_144;

/** Paths whose absence makes an event invalid (required by the EventBridge envelope or the Config detail). */
const RequiredPaths: readonly (readonly string[])[] = [
  ['version'], ['id'], ['detail-type'], ['source'], ['account'], ['time'], ['region'], ['detail'],
  ['detail', 'resourceId'], ['detail', 'awsRegion'], ['detail', 'awsAccountId'], ['detail', 'configRuleName'],
  ['detail', 'messageType'], ['detail', 'notificationCreationTime'], ['detail', 'resourceType'],
  ['detail', 'newEvaluationResult', 'complianceType'], ['detail', 'newEvaluationResult', 'evaluationResultIdentifier'],
];

/** Required string fields, to be given a value of another JSON type. */
const StringPaths: readonly (readonly string[])[] = RequiredPaths.filter((p) => !['detail', 'evaluationResultIdentifier'].includes(p.at(-1)!));

/** Literal-valued fields and their one accepted value. */
const Literals: readonly { readonly path: readonly string[]; readonly value: string }[] = [
  { path: ['detail-type'], value: 'Config Rules Compliance Change' },
  { path: ['source'], value: 'aws.config' },
  { path: ['detail', 'messageType'], value: 'ComplianceChangeNotification' },
  { path: ['detail', 'newEvaluationResult', 'complianceType'], value: '' },
];

const Compliance = new Set(['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA']);

const Qualifier = ['detail', 'newEvaluationResult', 'evaluationResultIdentifier', 'evaluationResultQualifier'] as const;

/** Text fields that reach the state store (columns, jsonb payloads): none may carry what Postgres refuses. */
const StoredTextPaths: readonly (readonly string[])[] = [
  ['id'], ['version'], ['region'], ['detail', 'resourceId'], ['detail', 'awsRegion'], ['detail', 'configRuleName'], ['detail', 'resourceType'],
  ['detail', 'newEvaluationResult', 'annotation'], [...Qualifier, 'resourceId'], [...Qualifier, 'configRuleName'], [...Qualifier, 'resourceType'],
];

/** Identifiers and names with AWS's own bounds (EvaluationResultQualifier): resource id 768, type 256, rule name 128. */
const BoundedNames: readonly { readonly paths: readonly (readonly string[])[]; readonly max: number }[] = [
  { paths: [['detail', 'resourceId'], [...Qualifier, 'resourceId']], max: 768 },
  { paths: [['detail', 'resourceType'], [...Qualifier, 'resourceType']], max: 256 },
  { paths: [['detail', 'configRuleName'], [...Qualifier, 'configRuleName']], max: 128 },
];

function baseEvent(id: string): Record<string, unknown> {
  return complianceEvent({ id, resourceId: `poison-${id}`, compliance: 'NON_COMPLIANT', at: Date.parse('2026-03-04T10:00:00Z') }) as unknown as Record<string, unknown>;
}

function edit(event: Record<string, unknown>, path: readonly string[], change: (parent: Record<string, unknown>, key: string) => void): Record<string, unknown> {
  let parent = event;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  change(parent, path.at(-1)!);
  return event;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const nonJsonText = fc.string({ maxLength: 300 }).map((s) => `#${s}`);
const notTwelveDigits = fc.string({ maxLength: 20 }).filter((s) => !/^\d{12}$/.test(s));

/**
 * Arbitrary malformed records: invalid UTF-8, text that is not JSON, JSON that is not an object, events missing a
 * required field, with a field of the wrong type, a wrong literal, a bad account id, compliance value or timestamp,
 * an empty or over-long id, and records over the size limit. And values JSON accepts but Postgres refuses (issue 9):
 * a NUL (`\u0000`) or an unpaired surrogate (`\ud83d`) in a stored text field, and identifiers or names longer than
 * AWS allows (a resource id of ~2.6 KB broke the btree index of the evaluation key).
 */
export function poisonRecordArbitrary(): fc.Arbitrary<Omit<PoisonRecord, 'partitionKey'>> {
  const id = fc.uuid();
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 400 }).chain((bytes) => fc.nat(bytes.length).map((at) => ({ kind: 'invalid-utf8', data: Buffer.concat([Buffer.from(bytes.subarray(0, at)), Buffer.from([0xff]), Buffer.from(bytes.subarray(at))]) }))) },
    { weight: 2, arbitrary: nonJsonText.map((text) => ({ kind: 'not-json', data: Buffer.from(text) })) },
    { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 5 })).map((value) => ({ kind: 'not-an-object', data: json(value) })) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }).map((value) => ({ kind: 'random-object', data: json(value) })) },
    { weight: 4, arbitrary: fc.tuple(id, fc.constantFrom(...RequiredPaths)).map(([eventId, path]) => ({ kind: 'missing-field', data: json(edit(baseEvent(eventId), path, (p, k) => delete p[k])) })) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(id, fc.constantFrom(...StringPaths), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 })))
        .map(([eventId, path, value]) => ({ kind: 'wrong-type', data: json(edit(baseEvent(eventId), path, (p, k) => (p[k] = value))) })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(id, fc.constantFrom(...Literals), fc.string({ maxLength: 40 }))
        .filter(([, literal, value]) => value !== literal.value && !Compliance.has(value))
        .map(([eventId, literal, value]) => ({ kind: 'wrong-literal', data: json(edit(baseEvent(eventId), literal.path, (p, k) => (p[k] = value))) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(id, fc.constantFrom(['account'], ['detail', 'awsAccountId']), notTwelveDigits)
        .map(([eventId, path, value]) => ({ kind: 'bad-account', data: json(edit(baseEvent(eventId), path, (p, k) => (p[k] = value))) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(id, fc.constantFrom(['time'], ['detail', 'notificationCreationTime'], ['detail', 'newEvaluationResult', 'evaluationResultIdentifier', 'orderingTimestamp']), fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-/.test(s)))
        .map(([eventId, path, value]) => ({ kind: 'bad-timestamp', data: json(edit(baseEvent(eventId), path, (p, k) => (p[k] = value))) })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constant(''), fc.string({ minLength: 129, maxLength: 300 })).map((value) => ({ kind: 'bad-id', data: json({ ...baseEvent('x'), id: value }) })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(id, fc.constantFrom(...StoredTextPaths), fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }))
        .map(([eventId, path, before, after]) => ({ kind: 'nul', data: json(edit(baseEvent(eventId), path, (p, k) => (p[k] = `${before}\u0000${after}`))) })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(id, fc.constantFrom(...StoredTextPaths), fc.string({ maxLength: 30 }), fc.integer({ min: 0xd800, max: 0xdfff }))
        // A high surrogate last, a low one first: never completed into a pair by a neighbour.
        .map(([eventId, path, text, unit]) => {
          const lone = String.fromCharCode(unit);
          return { kind: 'lone-surrogate', data: json(edit(baseEvent(eventId), path, (p, k) => (p[k] = unit < 0xdc00 ? `${text}${lone}` : `${lone}${text}`))) };
        }),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(id, fc.constantFrom(...BoundedNames), fc.integer({ min: 1, max: 4_000 }), fc.constantFrom('r', 'é', '語'))
        .map(([eventId, { paths, max }, extra, unit]) => {
          const value = unit.repeat(max + extra);
          const event = baseEvent(eventId);
          for (const path of paths) edit(event, path, (p, k) => (p[k] = value));
          return { kind: 'oversize-name', data: json(event) };
        }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(id, fc.integer({ min: 1, max: 40_000 })).map(([eventId, extra]) => ({
        kind: 'oversize',
        data: json(edit(baseEvent(eventId), ['detail', 'newEvaluationResult', 'annotation'], (p, k) => (p[k] = 'x'.repeat(MaxRecordBytes + extra)))),
      })),
    },
  );
}

/** `count` poison records from a seed (reproducible), with random partition keys. */
export function samplePoison(count: number, seed: number): PoisonRecord[] {
  const records = fc.sample(poisonRecordArbitrary(), { numRuns: count, seed });
  const keys = fc.sample(fc.string({ minLength: 1, maxLength: 64 }).filter((k) => Buffer.byteLength(k) <= 256), { numRuns: count, seed: seed + 1 });
  // Oversize records are few and costly: at most one in 500, the rest become events missing a field.
  let oversize = 0;
  return records.map((record, i) => {
    const keep = record.kind !== 'oversize' || ++oversize <= Math.max(1, Math.floor(count / 500));
    const data = record.data.length === 0 ? Buffer.from([0xff]) : record.data;
    return keep ? { ...record, data, partitionKey: keys[i] ?? `poison-${i}` } : { kind: 'missing-field', data: json(edit(baseEvent(`p${i}`), ['detail'], (p, k) => delete p[k])), partitionKey: `poison-${i}` };
  });
}

/**
 * Valid events the `|`-joined evaluation key merged (issue 9): type `AWS::EC2::SecurityGroup` id `sg-N|prod` and type
 * `AWS::EC2::SecurityGroup|sg-N` id `prod` were one key, so the second NON_COMPLIANT was "unchanged" and a fix of one
 * resolved the other's finding. Each pair opens two findings; every other pair then fixes its first resource only.
 */
export function keySeparatorCollisions(accountIds: readonly string[], pairs: number, at: number): Delivery[] {
  const deliveries: Delivery[] = [];
  const configRuleName = 'OrgConfigRule-vpc-sg-open-only-to-authorized-ports-c011151e';
  const put = (event: ComplianceChangeEvent) => deliveries.push({ kind: 'event', data: Buffer.from(JSON.stringify(event)), partitionKey: event.detail.resourceId, event });
  for (let i = 0; i < pairs; i++) {
    const account = accountIds[i % accountIds.length]!;
    const spec = { account, region: 'eu-west-1', configRuleName, compliance: 'NON_COMPLIANT' as const, at: at + i };
    put(complianceEvent({ ...spec, id: `collision-${i}-a`, resourceType: 'AWS::EC2::SecurityGroup', resourceId: `sg-${i}|prod` }));
    put(complianceEvent({ ...spec, id: `collision-${i}-b`, resourceType: `AWS::EC2::SecurityGroup|sg-${i}`, resourceId: 'prod' }));
    if (i % 2 === 0) {
      put(complianceEvent({ ...spec, id: `collision-${i}-a-fixed`, resourceType: 'AWS::EC2::SecurityGroup', resourceId: `sg-${i}|prod`, compliance: 'COMPLIANT', at: at + 1_000 + i }));
    }
  }
  return deliveries;
}
