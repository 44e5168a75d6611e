import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { isComplianceChangeEvent } from '../../schemas/compiled-event-validator.ts';
import { compileZodPredicate, UnsupportedSchemaError } from '../../schemas/compile-zod-predicate.ts';
import { readSample, sampleFiles, sampleJson } from './stage-fixtures.ts';

// Every path of the non-compliant sample, and values that break (or happen to satisfy) each kind of field.
const Paths: readonly (readonly string[])[] = collectPaths(sampleJson());
const Hostile: readonly unknown[] = [
  undefined, null, 0, 1.5, true, '', ' ', 'x', 'a\u0000b', '\ud83d', 'ok \ud83d\ude00', '\udc00x', 'x'.repeat(129), 'x'.repeat(769),
  'x'.repeat(2_049), '123456789012', '12345678901', '1234567890123', 'us-east-1', 'US-EAST-1', 'COMPLIANT', 'NON_COMPLIANT', 'DELETED',
  'aws.config', 'driftwatch.reconcile', 'Config Rules Compliance Change', 'ComplianceChangeNotification', '2026-03-04T10:15:22Z',
  '2026-02-29T10:00:00Z', '2024-02-29T10:00:00.123456789+05:30', '2026-13-01T00:00:00Z', '2026-04-31T00:00:00Z', '2026-03-04T24:00:00Z',
  '2026-03-04T10:15:22+24:00', '2026-03-04T10:15:22', [], ['a'], ['\u0000'], new Array(1_001).fill('r'), {}, { run: 'r' },
  { run: 'r', notify: 'digest' }, { run: '', notify: 'alert' }, { run: 'r', notify: 'loud' },
];

function collectPaths(value: unknown, prefix: readonly string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [[...prefix]];
  const paths: string[][] = prefix.length > 0 ? [[...prefix]] : [];
  for (const [key, child] of Object.entries(value)) paths.push(...collectPaths(child, [...prefix, key]));
  return paths;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) return;
    node = node[key] as Record<string, unknown>;
  }
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = structuredClone(value);
}

describe('isComplianceChangeEvent (the compiled check of ComplianceChangeEvent)', () => {
  it.each(sampleFiles())('accepts the sample %s as it is, without copying it', (file) => {
    const json = JSON.parse(readSample(file).toString('utf8'));
    expect(isComplianceChangeEvent(json)).toBe(true);
    expect(json).toEqual(ComplianceChangeEvent.parse(json));
  });

  it('agrees with the zod schema on every mutation, and an accepted value equals what zod returns', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...Paths), fc.constantFrom(...Hostile)), { minLength: 1, maxLength: 3 }), (changes) => {
        const candidate = sampleJson();
        for (const [path, value] of changes) setPath(candidate, path, value);
        const zod = ComplianceChangeEvent.safeParse(structuredClone(candidate));
        expect(isComplianceChangeEvent(candidate)).toBe(zod.success);
        if (zod.success) expect(candidate).toEqual(zod.data);
      }),
      { numRuns: 3_000, seed: 18 },
    );
  });

  it('sets defaults in place as zod would (resources, driftwatch.notify)', () => {
    const candidate = sampleJson();
    delete candidate.resources;
    candidate.source = 'driftwatch.reconcile';
    candidate.driftwatch = { run: 'rc-1' };
    expect(isComplianceChangeEvent(candidate)).toBe(true);
    expect(candidate.resources).toEqual([]);
    expect(candidate.driftwatch).toEqual({ run: 'rc-1', notify: 'alert' });
  });

  it('refuses what is not an object at every level', () => {
    for (const value of [null, undefined, 'x', 1, [], [sampleJson()]]) expect(isComplianceChangeEvent(value)).toBe(false);
    const candidate = sampleJson();
    candidate.detail = [candidate.detail];
    expect(isComplianceChangeEvent(candidate)).toBe(false);
  });

  it('judges every timestamp field value as Date.parse with a calendar-exact day and hour < 24 would', () => {
    const days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    const leap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const reference = (value: string): boolean => {
      if (Number.isNaN(Date.parse(value))) return false;
      const [year, month, day, hour] = [value.slice(0, 4), value.slice(5, 7), value.slice(8, 10), value.slice(11, 13)].map(Number) as [number, number, number, number];
      if (hour > 23 || day > days[month - 1]!) return false;
      return month !== 2 || day !== 29 || leap(year);
    };
    const two = (n: number) => String(n).padStart(2, '0');
    const values: string[] = [];
    for (let n = 0; n < 100; n++) {
      values.push(`2026-${two(n)}-01T00:00:00Z`, `2026-01-${two(n)}T00:00:00Z`, `2026-02-${two(n)}T00:00:00Z`, `2024-02-${two(n)}T00:00:00Z`);
      values.push(`2026-01-01T${two(n)}:00:00Z`, `2026-01-01T00:${two(n)}:00Z`, `2026-01-01T00:00:${two(n)}.5Z`);
      values.push(`2026-01-01T00:00:00+${two(n)}:00`, `2026-01-01T00:00:00-00:${two(n)}`, `${two(n)}00-02-29T00:00:00Z`);
    }
    for (const month of days.keys()) values.push(`2026-${two(month + 1)}-${two(days[month]!)}T23:59:59.999999999-23:59`);
    for (const value of values) {
      const candidate = sampleJson();
      candidate.time = value;
      expect([value, isComplianceChangeEvent(candidate)]).toEqual([value, reference(value)]);
      expect(ComplianceChangeEvent.safeParse(candidate).success).toBe(reference(value));
    }
  });

  it('skips the storability scans only when the caller vouches for them; every other bound still holds', () => {
    const withNul = sampleJson() as { detail: { resourceId: string } };
    withNul.detail.resourceId = 'sg-\u0000';
    expect(isComplianceChangeEvent(withNul)).toBe(false);
    expect(isComplianceChangeEvent(withNul, true)).toBe(true);
    const tooLong = sampleJson() as { detail: { resourceId: string } };
    tooLong.detail.resourceId = 'x'.repeat(769);
    expect(isComplianceChangeEvent(tooLong, true)).toBe(false);
    // Unnamed refinements are never skipped.
    const odd = compileZodPredicate(z.object({ a: z.string().refine((v) => v !== 'odd') }), { vouchable: [() => true] });
    expect(odd({ a: 'odd' }, true)).toBe(false);
  });

  it('refuses to compile what it cannot check exactly', () => {
    expect(() => compileZodPredicate(z.object({ n: z.number() }))).toThrow(UnsupportedSchemaError);
    expect(() => compileZodPredicate(z.object({ e: z.email() }))).toThrow(UnsupportedSchemaError);
    expect(() => compileZodPredicate(z.object({ a: z.string() }).catchall(z.string()))).toThrow(UnsupportedSchemaError);
  });
});
