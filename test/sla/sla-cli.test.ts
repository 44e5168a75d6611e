import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { runCli } from '../support/cli.ts';
import { MonthlyReport } from '../../pipeline/report/monthly-report.ts';
import { previousMonthOf } from '../../pipeline/report/report-month.ts';
import { outbox } from './sla-fixtures.ts';

const Account = '111122223333';

describe('CLI: exception, escalate, report', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let exceptionId = '';

  beforeAll(async () => {
    database = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-sla-cli-'));
    await writeFile(join(dir, 'accounts.yaml'), `accounts:\n  - { id: "${Account}", name: payments-prod, environment: production, owner: payments }\n`);
    const samples = ['compliance-change-noncompliant.json', 'compliance-change-first-evaluation.json'];
    const lines = await Promise.all(samples.map(async (s) => JSON.stringify(JSON.parse(await readFile(join(import.meta.dirname, '../fixtures/samples', s), 'utf8')))));
    await writeFile(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
    env = { DATABASE_URL: database.url, DRIFTWATCH_ACCOUNTS: join(dir, 'accounts.yaml'), LOG_LEVEL: 'silent' };
    // Two findings from the samples (opened March 2026, long overdue): a High security group and a Critical root MFA.
    const replay = await runCli(['replay', '--file', join(dir, 'events.ndjson'), '--json'], env);
    expect(replay.code).toBe(0);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('adds an exception that silences the matching finding, and lists it', async () => {
    const add = await runCli(
      ['exception', 'add', '--rule', 'OrgConfigRule-vpc-sg-open-only-to-authorized-ports-ab12cd', '--account', Account, '--until', '2099-12-31', '--reason', 'legacy VPN appliance', '--by', 'alice', '--json'],
      env,
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const added = JSON.parse(add.stdout);
    expect(added).toMatchObject({
      status: 'active', rule: 'vpc-sg-open-only-to-authorized-ports', accountId: Account, resourceId: null,
      until: '2100-01-01T00:00:00.000Z', reason: 'legacy VPN appliance', createdBy: 'alice', coveredOpenFindings: 1,
    });
    exceptionId = added.id;

    const findings = JSON.parse((await runCli(['findings', '--json'], env)).stdout) as { rule: string; excepted: boolean }[];
    expect(findings.find((f) => f.rule === 'vpc-sg-open-only-to-authorized-ports')?.excepted).toBe(true);
    expect(findings.find((f) => f.rule === 'root-account-mfa-enabled')?.excepted).toBe(false);

    const list = await runCli(['exception', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: exceptionId, coveredOpenFindings: 1, status: 'active' })]);
    const table = await runCli(['exception', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+RULE/m);
    expect(table.stdout).toContain(exceptionId);
  });

  it('escalates only the finding that is not excepted, then the other once the exception is revoked', async () => {
    const first = await runCli(['escalate', '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ escalated: 1, reminded: 0 });
    expect((await outbox(database.db, 'finding.escalated')).map((o) => o.payload.finding.rule)).toEqual(['root-account-mfa-enabled']);

    const revoke = await runCli(['exception', 'revoke', exceptionId, '--by', 'bob', '--reason', 'appliance replaced', '--json'], env);
    expect(revoke.code).toBe(0);
    // No notifier ran, so the finding's own 'finding.opened' alert is still pending: it goes out now, no re-alert needed.
    expect(JSON.parse(revoke.stdout)).toMatchObject({ id: exceptionId, status: 'revoked', revokedBy: 'bob', realerted: 0, released: 1 });
    expect(await outbox(database.db, 'finding.realert')).toHaveLength(0);
    const findings = JSON.parse((await runCli(['findings', '--json'], env)).stdout) as { excepted: boolean }[];
    expect(findings.map((f) => f.excepted)).toEqual([false, false]);

    const second = await runCli(['escalate'], env);
    expect(second.stdout).toMatch(/^Escalated 1 finding\(s\) to #security-compliance, queued 0 reminder\(s\)/);

    const history = JSON.parse((await runCli(['exception', 'history', exceptionId, '--json'], env)).stdout) as { action: string; actor: string }[];
    expect(history.map((h) => [h.action, h.actor])).toEqual([['created', 'alice'], ['revoked', 'bob']]);
    expect(JSON.parse((await runCli(['exception', 'list', '--json'], env)).stdout)).toEqual([]);
    expect(JSON.parse((await runCli(['exception', 'list', '--all', '--json'], env)).stdout)).toHaveLength(1);
  });

  it('prints the report as stable JSON, CSV or Markdown, and queues it for Slack with --post', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const json = await runCli(['report', '--month', month, '--format', 'json'], env);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = MonthlyReport.parse(JSON.parse(json.stdout));
    // The current month: the command snapshots today first, so both sample pairs are evaluated (and non-compliant).
    expect(report.totals).toMatchObject({ evaluated: 2, compliant: 0, complianceRate: 0, openCritical: 1, openHigh: 1 });
    expect(report.accounts.map((a) => a.accountName).sort()).toEqual([expect.any(String), 'payments-prod'].sort());

    const csv = await runCli(['report', '--month', month, '--format', 'csv'], env);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^rank,account_id,account_name,/);
    const md = await runCli(['report', '--month', month, '--post', '--channel', '#all-hands'], env);
    expect(md.stdout).toContain(`# Compliance report ${month}`);
    expect(md.stderr).toBe(`Queued the ${month} report for #all-hands.\n`);
    const again = await runCli(['report', '--month', month, '--post', '--format', 'json'], env);
    expect(again.stderr).toBe(`The ${month} report was already queued; not posting it twice.\n`);
    expect(JSON.parse(again.stdout).month).toBe(month);
    expect(await outbox(database.db, 'report.monthly')).toEqual([expect.objectContaining({ findingId: `report:${month}`, payload: expect.objectContaining({ channel: '#all-hands' }) })]);

    const defaultMonth = await runCli(['report', '--format', 'json'], env);
    expect(JSON.parse(defaultMonth.stdout).month).toBe(previousMonthOf(Date.now(), 'UTC'));
  });

  it('rejects bad arguments with one line naming the argument', async () => {
    const cases: [string[], string][] = [
      [['report', '--month', '2026-13'], 'driftwatch: invalid --month "2026-13": expected YYYY-MM\n'],
      [['report', '--month', '2026-3'], 'driftwatch: invalid --month "2026-3": expected YYYY-MM\n'],
      [['report', '--format', 'xml'], 'driftwatch: invalid --format "xml": expected one of md, csv, json\n'],
      [['report', '--top', '0'], 'driftwatch: invalid --top "0": expected a whole number from 1 to 100\n'],
      [['exception', 'add', '--rule', 'r', '--until', '2020-01-01', '--reason', 'x', '--by', 'y'], 'driftwatch: invalid --until "2020-01-01": it is not in the future\n'],
      [['exception', 'add', '--rule', 'r', '--until', 'soon', '--reason', 'x', '--by', 'y'], 'driftwatch: invalid --until "soon": expected a date (YYYY-MM-DD) or an ISO 8601 time\n'],
      [['exception', 'add', '--rule', 'r', '--account', '12', '--until', '2099-01-01', '--reason', 'x', '--by', 'y'], 'driftwatch: invalid --account "12": an AWS account id has 12 digits\n'],
      [['exception', 'revoke', 'exc-nope', '--by', 'y'], 'driftwatch: no risk exception exc-nope\n'],
    ];
    for (const [argv, stderr] of cases) {
      const result = await runCli(argv, env);
      expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 1, stderr });
    }
    const missing = await runCli(['exception', 'add', '--rule', 'r', '--until', '2099-01-01', '--by', 'y'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('--reason');
  });
});
