import { PassThrough } from 'node:stream';
import type { Client } from '@opensearch-project/opensearch';
import { Command } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalystQueries } from '../../pipeline/analytics/analyst-queries.ts';
import type { QueryRow } from '../../pipeline/analytics/analyst-query.ts';
import { runAnalystQuery } from '../../pipeline/analytics/run-analyst-query.ts';
import type { CliContext } from '../../pipeline/cli/cli-context.ts';
import { registerQueryCommand } from '../../pipeline/cli/commands/query-command.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { Finding } from '../../stages/track/finding.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { asItems, enrichedEvent, findingOf, tracked } from './support/fixtures.ts';
import { assertionClient, countDocs, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

const Now = Date.parse('2026-03-20T12:00:00Z');
const at = (s: string) => Date.parse(`2026-${s}Z`);
const H = 3_600_000;

const A = { accountId: '111111111111', accountName: 'payments-prod', owner: 'payments', environment: 'production' as const };
const B = { accountId: '222222222222', accountName: 'identity-prod', owner: 'identity', environment: 'production' as const };
const C = { accountId: '333333333333', accountName: 'search-stag', owner: 'search', environment: 'staging' as const };
const Root = { rule: 'root-account-mfa-enabled', severity: 'Critical' as const, resourceType: 'AWS::::Account' };
const S3 = { rule: 's3-bucket-public-write-prohibited', severity: 'High' as const, resourceType: 'AWS::S3::Bucket' };
const Sg = { rule: 'vpc-sg-open-only-to-authorized-ports', severity: 'Medium' as const, resourceType: 'AWS::EC2::SecurityGroup' };

/**
 * A small estate with known answers (now = 2026-03-20 12:00 UTC):
 * open: F1 A/Critical (deadline 03-11, overdue 228 h), F2 A/High, F3 B/High (deadline 03-15, overdue 132 h), F7 A/Medium,
 * F8 B/Critical past deadline but covered by a risk exception; resolved: F4 B/sg 10 h, F5 C/sg 30 h, F6 C/s3 4 h (late).
 */
function dataSet(): TrackedEvent[] {
  const out: TrackedEvent[] = [];
  const open = (id: string, who: object, rule: object, openedAt: number, deadline: number, extra: Partial<Finding> = {}) => {
    const event = enrichedEvent({ eventId: `${id}-open`, resourceId: `${id}-res`, orderingTime: openedAt, ...who, ...rule });
    const finding = { ...findingOf(event, { findingId: id, deadline }), ...extra };
    out.push(tracked(event, 'opened', finding));
    return { event, finding };
  };
  const resolve = (opened: { event: EnrichedEvent; finding: Finding }, resolvedAt: number) => {
    const event = enrichedEvent({ ...opened.event, eventId: `${opened.finding.findingId}-fix`, compliance: 'COMPLIANT', previousCompliance: 'NON_COMPLIANT', orderingTime: resolvedAt });
    out.push(tracked(event, 'resolved', { ...opened.finding, status: 'resolved', resolvedAt, resolution: 'COMPLIANT', resolvedEventId: event.eventId }));
  };
  open('F1', A, Root, at('03-10T00:00:00'), at('03-11T00:00:00'));
  const f2 = open('F2', A, S3, at('03-18T00:00:00'), at('03-25T00:00:00'));
  open('F3', B, S3, at('03-12T00:00:00'), at('03-15T00:00:00'));
  resolve(open('F4', B, Sg, at('03-01T00:00:00'), at('03-10T00:00:00')), at('03-01T10:00:00'));
  resolve(open('F5', C, Sg, at('03-02T00:00:00'), at('03-12T00:00:00')), at('03-03T06:00:00'));
  resolve(open('F6', C, S3, at('03-05T00:00:00'), at('03-05T02:00:00')), at('03-05T04:00:00'));
  const f7 = open('F7', A, Sg, at('03-19T00:00:00'), at('04-10T00:00:00'));
  open('F8', B, Root, at('03-08T00:00:00'), at('03-08T01:00:00'), { exceptionId: 'exc-1' } as Partial<Finding>);
  // A compliant result with no finding, a stale (out-of-order) result, an out-of-scope result, and a repeat non-compliance.
  out.push(tracked(enrichedEvent({ eventId: 'X1', ...A, ...S3, compliance: 'COMPLIANT', orderingTime: at('03-03T08:00:00') }), 'recorded', null));
  out.push(tracked(enrichedEvent({ ...f7.event, eventId: 'X2', orderingTime: at('03-19T01:00:00') }), 'stale', f7.finding));
  out.push(tracked(enrichedEvent({ eventId: 'X3', ...C, ...Root, inScope: false, orderingTime: at('03-19T02:00:00') }), 'recorded', null));
  out.push(tracked(enrichedEvent({ ...f2.event, eventId: 'X4', previousCompliance: 'NON_COMPLIANT', orderingTime: at('03-19T03:00:00') }), 'unchanged', f2.finding));
  return out;
}

describe('analyst queries on a known data set', () => {
  const prefix = testIndexPrefix();
  let url: string;
  let client: Client;
  let assert: Client;

  beforeAll(async () => {
    url = await ensureOpenSearch();
    const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
    assert = assertionClient(url);
    const sink = (await createOpenSearchSink(settings, pino({ level: 'silent' })))!;
    const outcome = await sink.write({ shardId: 's', items: asItems(dataSet()) }, AbortSignal.timeout(30_000));
    await sink.close();
    expect(outcome.status).toBe('delivered');
    expect(await countDocs(assert, `${prefix}-events-*`)).toBe(15);
    expect(await countDocs(assert, `${prefix}-findings`)).toBe(8);
  });

  afterAll(async () => {
    await dropIndices(assert, prefix);
    await Promise.all([client?.close(), assert?.close()]);
  });

  const run = async (name: string, days?: number, limit?: number) => {
    const query = AnalystQueries.find((q) => q.name === name)!;
    return runAnalystQuery(client, query, { indexPrefix: prefix, now: Now, days: days ?? query.defaultDays ?? 30, limit: limit ?? query.defaultLimit ?? 20 });
  };

  it('open-by-severity: most urgent first, exceptions left out', async () => {
    const result = await run('open-by-severity');
    expect(result.total).toBe(4);
    expect(result.rows).toEqual([
      { severity: 'Critical', account: 'payments-prod', accountId: A.accountId, owner: 'payments', open: 1 },
      { severity: 'High', account: 'identity-prod', accountId: B.accountId, owner: 'identity', open: 1 },
      { severity: 'High', account: 'payments-prod', accountId: A.accountId, owner: 'payments', open: 1 },
      { severity: 'Medium', account: 'payments-prod', accountId: A.accountId, owner: 'payments', open: 1 },
    ]);
  });

  it('past-deadline: open, overdue, most overdue first', async () => {
    const result = await run('past-deadline');
    expect(result.total).toBe(2);
    expect(result.rows.map((r) => [r.findingId, r.severity, r.account, r.deadline, r.overdueHours])).toEqual([
      ['F1', 'Critical', 'payments-prod', '2026-03-11 00:00', 228],
      ['F3', 'High', 'identity-prod', '2026-03-15 00:00', 132],
    ]);
  });

  it('mttr-by-rule and mttr-by-team: mean hours, slowest first, late fixes counted', async () => {
    const byRule = await run('mttr-by-rule');
    expect(byRule.total).toBe(3);
    expect(byRule.rows).toEqual([
      { rule: Sg.rule, resolved: 2, meanHours: 20, maxHours: 30, breached: 0 },
      { rule: S3.rule, resolved: 1, meanHours: 4, maxHours: 4, breached: 1 },
    ]);
    const byTeam = await run('mttr-by-team');
    expect(byTeam.rows).toEqual([
      { owner: 'search', resolved: 2, meanHours: 17, maxHours: 30, breached: 1 },
      { owner: 'identity', resolved: 1, meanHours: 10, maxHours: 10, breached: 0 },
    ]);
    // A window that ends before the fixes of 03-03 and 03-05 sees only the first one.
    expect((await run('mttr-by-rule', 1)).rows).toEqual([]);
  });

  it('compliance-trend: one row per day, stale and out-of-scope results left out', async () => {
    const result = await run('compliance-trend');
    expect(result.rows).toHaveLength(30);
    expect(result.rows[0]!.day).toBe('2026-02-19');
    const byDay = new Map(result.rows.map((r) => [r.day, r]));
    const row = (day: string) => byDay.get(`2026-${day}`);
    expect(row('03-01')).toEqual({ day: '2026-03-01', evaluations: 2, compliant: 1, nonCompliant: 1, compliancePct: 50, opened: 1, resolved: 1 });
    expect(row('03-03')).toEqual({ day: '2026-03-03', evaluations: 2, compliant: 2, nonCompliant: 0, compliancePct: 100, opened: 0, resolved: 1 });
    expect(row('03-19')).toEqual({ day: '2026-03-19', evaluations: 2, compliant: 0, nonCompliant: 2, compliancePct: 0, opened: 1, resolved: 0 });
    expect(row('03-20')).toEqual({ day: '2026-03-20', evaluations: 0, compliant: 0, nonCompliant: 0, compliancePct: null, opened: 0, resolved: 0 });
    const sum = (key: string) => result.rows.reduce((n, r: QueryRow) => n + Number(r[key]), 0);
    expect([sum('evaluations'), sum('opened'), sum('resolved')]).toEqual([13, 8, 3]);
    expect(result.omitted).toBe(0);
    // --limit limits a trend too, keeping the latest days, and says how many it left out.
    const latest = await run('compliance-trend', undefined, 5);
    expect(latest.rows.map((r) => r.day)).toEqual(['2026-03-16', '2026-03-17', '2026-03-18', '2026-03-19', '2026-03-20']);
    expect(latest.omitted).toBe(25);
  });

  it('worst-resource-types: most open findings first, with severity, deadline and spread', async () => {
    const result = await run('worst-resource-types');
    expect(result.rows).toEqual([
      { resourceType: 'AWS::S3::Bucket', open: 2, criticalHigh: 2, pastDeadline: 1, accounts: 2 },
      { resourceType: 'AWS::::Account', open: 1, criticalHigh: 1, pastDeadline: 1, accounts: 1 },
      { resourceType: 'AWS::EC2::SecurityGroup', open: 1, criticalHigh: 0, pastDeadline: 0, accounts: 1 },
    ]);
  });

  describe('driftwatch query', () => {
    async function cli(args: string[]) {
      let out = '';
      const stdout = new PassThrough();
      stdout.on('data', (chunk) => (out += String(chunk)));
      const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
      const context = { env: {}, stdout, stderr: new PassThrough(), settings: () => settings, logger: () => pino({ level: 'silent' }) } as unknown as CliContext;
      const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      registerQueryCommand(program, context);
      const error = await program.parseAsync(['query', ...args], { from: 'user' }).then(() => null, (e: Error) => e);
      return { out, error };
    }

    it('prints an aligned table for people', async () => {
      const { out, error } = await cli(['past-deadline', '--at', '2026-03-20T12:00:00Z']);
      expect(error).toBeNull();
      const lines = out.split('\n');
      const header = lines.find((l) => l.startsWith('SEVERITY'))!;
      const rows = lines.filter((l) => /^(Critical|High)\s/.test(l));
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatch(/^Critical\s+payments-prod\s+payments\s+root-account-mfa-enabled\s+AWS::::Account F1-res\s+2026-03-11 00:00\s+228\s+F1$/);
      // Columns line up: every row's account starts where the header's ACCOUNT does; numbers end under OVERDUE H.
      for (const [row, account, overdue] of [[rows[0]!, 'payments-prod', ' 228 '], [rows[1]!, 'identity-prod', ' 132 ']] as const) {
        expect(row.indexOf(account)).toBe(header.indexOf('ACCOUNT'));
        expect(row.indexOf(overdue) + overdue.length - 1).toBe(header.indexOf('OVERDUE H') + 'OVERDUE H'.length);
      }
      expect(out).toContain('Total matching: 2');
    });

    it('prints JSON for programs', async () => {
      const { out, error } = await cli(['worst-resource-types', '--json', '--at', '2026-03-20T12:00:00Z']);
      expect(error).toBeNull();
      const parsed = JSON.parse(out) as { query: string; total: number; rows: QueryRow[] };
      expect(parsed.query).toBe('worst-resource-types');
      expect(parsed.total).toBe(4);
      expect(parsed.rows[0]).toEqual({ resourceType: 'AWS::S3::Bucket', open: 2, criticalHigh: 2, pastDeadline: 1, accounts: 2 });
    });

    it('refuses an unknown query name in one line listing the valid names', async () => {
      const { error } = await cli(['open-things']);
      expect(error?.message).toBe(
        'unknown query "open-things"; valid names: open-by-severity, past-deadline, mttr-by-rule, mttr-by-team, compliance-trend, worst-resource-types',
      );
    });
  });
});
