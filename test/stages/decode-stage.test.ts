import { describe, expect, it } from 'vitest';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import { batchOf, encode, originOf, readSample, sampleFiles, sampleJson, ShardId } from './stage-fixtures.ts';

const MaxRecordBytes = 8_192;

function decodeStage(): DecodeStage {
  return new DecodeStage({ maxRecordBytes: MaxRecordBytes });
}

/** The non-compliant sample with one change applied. */
function mutated(change: (event: ReturnType<typeof sampleJson>) => void): Uint8Array {
  const event = sampleJson();
  change(event);
  return encode(event);
}

function withByte(data: Uint8Array, at: number, ...bytes: number[]): Uint8Array {
  return new Uint8Array([...data.subarray(0, at), ...bytes, ...data.subarray(at + 1)]);
}

describe('DecodeStage', () => {
  it.each(sampleFiles())('decodes the sample %s', async (file) => {
    const data = new Uint8Array(readSample(file));
    const result = await decodeStage().process(batchOf<RawRecord>([{ data }]));
    expect(result.rejected).toEqual([]);
    expect(result.dropped).toEqual([]);
    expect(result.kept).toHaveLength(1);
    const kept = result.kept[0]!;
    const json = JSON.parse(Buffer.from(data).toString('utf8'));
    expect(kept.origin).toEqual(originOf(0));
    expect(kept.value.raw).toBe(data);
    expect(kept.value.event.id).toBe(json.id);
    expect(kept.value.event.detail.configRuleName).toBe(json.detail.configRuleName);
    expect(kept.value.event.detail.newEvaluationResult?.complianceType).toBe(json.detail.newEvaluationResult.complianceType);
    expect(kept.value.event.detail.oldEvaluationResult?.complianceType).toBe(json.detail.oldEvaluationResult?.complianceType);
  });

  it('finds both samples', () => {
    expect(sampleFiles()).toEqual(['compliance-change-first-evaluation.json', 'compliance-change-noncompliant.json']);
  });

  const sample = encode(sampleJson());
  const annotationAt = Buffer.from(sample).indexOf('0.0.0.0/0');

  const badInputs: readonly { readonly name: string; readonly data: () => Uint8Array; readonly reason: RegExp }[] = [
    { name: 'an empty record', data: () => new Uint8Array(), reason: /^empty record$/ },
    {
      name: 'a record over maxRecordBytes',
      data: () => encode(JSON.stringify(sampleJson()).padEnd(MaxRecordBytes + 1, ' ')),
      reason: /8193 bytes, over the 8192-byte limit/,
    },
    { name: 'an invalid UTF-8 byte', data: () => withByte(sample, annotationAt, 0xff), reason: /not valid UTF-8/ },
    { name: 'a UTF-8 encoded surrogate', data: () => withByte(sample, annotationAt, 0xed, 0xa0, 0x80), reason: /not valid UTF-8/ },
    // Without a backslash the storability scans are skipped: a raw NUL byte must still be refused, by JSON itself.
    { name: 'a raw NUL byte inside a string', data: () => withByte(sample, annotationAt, 0x00), reason: /^record is not JSON: / },
    { name: 'truncated JSON', data: () => sample.subarray(0, Math.floor(sample.length / 2)), reason: /^record is not JSON: / },
    { name: 'plain text', data: () => encode('hello'), reason: /^record is not JSON: / },
    { name: 'a JSON number', data: () => encode('42'), reason: /\(root\): .*expected object, received number/ },
    { name: 'a JSON array', data: () => encode('[]'), reason: /\(root\): .*expected object, received array/ },
    { name: 'JSON null', data: () => encode('null'), reason: /\(root\): .*expected object, received null/ },
    { name: 'a wrong source', data: () => mutated((e) => { e.source = 'aws.ec2'; }), reason: /source: .*"aws\.config"/ },
    {
      name: 'a wrong detail-type',
      data: () => mutated((e) => { e['detail-type'] = 'EC2 Instance State-change Notification'; }),
      reason: /detail-type: .*"Config Rules Compliance Change"/,
    },
    { name: 'a missing detail.resourceId', data: () => mutated((e) => { delete e.detail.resourceId; }), reason: /detail\.resourceId: / },
    { name: 'a missing detail', data: () => mutated((e) => { delete e.detail; }), reason: /detail: / },
    { name: 'an account id of 11 digits', data: () => mutated((e) => { e.account = '11112222333'; }), reason: /account: an AWS account id has 12 digits/ },
    {
      name: 'a detail account id with letters',
      data: () => mutated((e) => { e.detail.awsAccountId = '11112222333x'; }),
      reason: /detail\.awsAccountId: an AWS account id has 12 digits/,
    },
    {
      name: 'an account id given as a number',
      data: () => mutated((e) => { e.detail.awsAccountId = 111122223333; }),
      reason: /detail\.awsAccountId: .*expected string, received number/,
    },
    {
      name: 'an orderingTimestamp that is not a date',
      data: () => mutated((e) => { e.detail.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp = 'yesterday'; }),
      reason: /detail\.newEvaluationResult\.evaluationResultIdentifier\.orderingTimestamp: expected an ISO-8601 timestamp/,
    },
    {
      name: 'an orderingTimestamp without a zone',
      data: () => mutated((e) => { e.detail.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp = '2026-03-04T10:14:51'; }),
      reason: /orderingTimestamp: expected an ISO-8601 timestamp with a zone/,
    },
    {
      name: 'an unknown complianceType',
      data: () => mutated((e) => { e.detail.newEvaluationResult.complianceType = 'MOSTLY_COMPLIANT'; }),
      reason: /detail\.newEvaluationResult\.complianceType: .*"NON_COMPLIANT"/,
    },
    { name: 'month 13, day 45, hour 99', data: () => mutated((e) => { e.time = '2026-13-45T99:00:00Z'; }), reason: /^not a Config compliance-change event: time: expected a real date$/ },
    // Date.parse rolls these over to another day instead of failing.
    { name: 'February 30th', data: () => mutated((e) => { e.time = '2026-02-30T10:00:00Z'; }), reason: /time: expected a real date/ },
    { name: 'April 31st', data: () => mutated((e) => { e.detail.notificationCreationTime = '2026-04-31T10:00:00Z'; }), reason: /detail\.notificationCreationTime: expected a real date/ },
    { name: 'February 29th of a common year', data: () => mutated((e) => { e.time = '2026-02-29T10:00:00Z'; }), reason: /time: expected a real date/ },
    { name: 'hour 24', data: () => mutated((e) => { e.time = '2026-03-04T24:00:00Z'; }), reason: /time: expected a real date/ },
    { name: 'an offset of +25:00', data: () => mutated((e) => { e.time = '2026-03-04T10:00:00+25:00'; }), reason: /time: expected a real date/ },
    { name: 'an empty event id', data: () => mutated((e) => { e.id = ''; }), reason: /id: / },
    // Values JSON accepts and Postgres refuses (issue 9): refused here, with a reason, rather than by the commit.
    { name: 'a NUL in the resource id', data: () => mutated((e) => { e.detail.resourceId = 'sg-\u0000'; }), reason: /detail\.resourceId: contains a NUL character \(\\u0000\)/ },
    { name: 'a NUL in the annotation', data: () => mutated((e) => { e.detail.newEvaluationResult.annotation = '\u0000'; }), reason: /annotation: contains a NUL character/ },
    { name: 'an unpaired high surrogate', data: () => mutated((e) => { e.detail.configRuleName = 'rule-\ud83d'; }), reason: /detail\.configRuleName: contains an unpaired UTF-16 surrogate \(\\ud83d\)/ },
    { name: 'an unpaired low surrogate', data: () => mutated((e) => { e.detail.resourceType = '\ude00AWS::S3::Bucket'; }), reason: /detail\.resourceType: contains an unpaired UTF-16 surrogate \(\\ude00\)/ },
    { name: 'a resource id over 768 characters', data: () => mutated((e) => { e.detail.resourceId = 'r'.repeat(769); }), reason: /detail\.resourceId: Too big/ },
    { name: 'a resource type over 256 characters', data: () => mutated((e) => { e.detail.resourceType = 't'.repeat(257); }), reason: /detail\.resourceType: Too big/ },
    { name: 'a rule name over 128 characters', data: () => mutated((e) => { e.detail.configRuleName = 'r'.repeat(129); }), reason: /detail\.configRuleName: Too big/ },
    { name: 'a region that is not one', data: () => mutated((e) => { e.detail.awsRegion = 'US EAST'; }), reason: /detail\.awsRegion: an AWS region/ },
  ];

  it('accepts the longest ids AWS allows and characters outside the BMP (surrogate pairs)', () => {
    const data = mutated((e) => {
      e.detail.resourceId = 'é'.repeat(768);
      e.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.resourceId = '🚀'.repeat(384);
      e.detail.configRuleName = 'r'.repeat(128);
      e.detail.newEvaluationResult.annotation = 'tag 🏷️ and 語';
    });
    const result = decodeStage().process(batchOf<RawRecord>([{ data }]));
    expect(result.rejected).toEqual([]);
    expect(result.kept).toHaveLength(1);
  });

  it.each(badInputs)('dead-letters $name with its raw bytes and a reason naming the problem', ({ data, reason }) => {
    const raw = data();
    const result = decodeStage().process(batchOf<RawRecord>([{ data: raw }]));
    expect(result.kept).toEqual([]);
    expect(result.dropped).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    const letter = result.rejected[0]!;
    expect(letter.stage).toBe('decode');
    expect(letter.origin).toEqual(originOf(0));
    expect(letter.raw).toBe(raw);
    expect(letter.reason).toMatch(reason);
    expect(letter.reason).not.toContain('\n');
  });

  it('accepts a record of exactly maxRecordBytes', () => {
    const data = encode(JSON.stringify(sampleJson()).padEnd(MaxRecordBytes, ' '));
    expect(data.byteLength).toBe(MaxRecordBytes);
    expect(decodeStage().process(batchOf<RawRecord>([{ data }])).kept).toHaveLength(1);
  });

  it('accepts a leap day and a timestamp with an offset and nanoseconds', () => {
    const data = mutated((e) => {
      e.time = '2028-02-29T23:59:59+09:00';
      e.detail.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp = '2026-03-04T10:14:51.902123456-05:30';
    });
    const outcome = decodeStage().decodeOne(data);
    expect(typeof outcome).toBe('object');
  });

  it('accepts events without the optional fields', () => {
    const data = mutated((e) => {
      delete e.detail.oldEvaluationResult;
      delete e.detail.recordVersion;
      delete e.detail.configRuleARN;
      delete e.resources;
      const result = e.detail.newEvaluationResult;
      delete result.annotation;
      delete result.resultToken;
      delete result.resultRecordedTime;
      delete result.configRuleInvokedTime;
      delete result.evaluationResultIdentifier.evaluationResultQualifier.evaluationMode;
    });
    const outcome = decodeStage().decodeOne(data);
    if (typeof outcome === 'string') throw new Error(`rejected: ${outcome}`);
    expect(outcome.resources).toEqual([]);
    expect(outcome.detail.oldEvaluationResult).toBeUndefined();
    expect(outcome.detail.newEvaluationResult?.annotation).toBeUndefined();
    expect(outcome.detail.newEvaluationResult?.evaluationResultIdentifier.evaluationResultQualifier.evaluationMode).toBeUndefined();
  });

  it('accepts a deleted resource (no newEvaluationResult)', () => {
    const outcome = decodeStage().decodeOne(mutated((e) => { delete e.detail.newEvaluationResult; }));
    if (typeof outcome === 'string') throw new Error(`rejected: ${outcome}`);
    expect(outcome.detail.newEvaluationResult).toBeUndefined();
    expect(outcome.detail.oldEvaluationResult?.complianceType).toBe('COMPLIANT');
  });

  it('keeps the good records of a mixed batch in order and rejects the bad ones with their origins', () => {
    const good = (id: string) => mutated((e) => { e.id = id; });
    const bad = [encode('{"truncated": '), new Uint8Array(), mutated((e) => { e.source = 'aws.s3'; })];
    const data = [good('a'), bad[0]!, good('b'), bad[1]!, bad[2]!, good('c')];
    const result = decodeStage().process(batchOf<RawRecord>(data.map((d) => ({ data: d }))));
    expect(result.kept.map((item) => item.value.event.id)).toEqual(['a', 'b', 'c']);
    expect(result.kept.map((item) => item.origin)).toEqual([originOf(0), originOf(2), originOf(5)]);
    expect(result.kept.map((item) => item.value.raw)).toEqual([data[0], data[2], data[5]]);
    expect(result.rejected.map((letter) => letter.origin)).toEqual([originOf(1), originOf(3), originOf(4)]);
    expect(result.rejected.map((letter) => letter.raw)).toEqual(bad);
    expect(result.rejected.every((letter) => letter.origin.shardId === ShardId && letter.stage === 'decode')).toBe(true);
  });
});
