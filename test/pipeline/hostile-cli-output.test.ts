import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

// Control characters an attacker could put in a resource id or a malformed record.
const Hostile = 'sg-1\u001b[2J\u001b]0;owned\u0007\r\n`x`';
const ControlChars = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('CLI output with hostile data and out-of-range arguments (issue 9 items 6, 8, 11)', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    database = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-hostile-'));
    const sample = JSON.parse(await readFile(join(import.meta.dirname, '../fixtures/samples', 'compliance-change-noncompliant.json'), 'utf8'));
    sample.id = 'hostile-1';
    sample.detail.resourceId = Hostile;
    sample.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.resourceId = Hostile;
    sample.detail.oldEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.resourceId = Hostile;
    await writeFile(join(dir, 'events.ndjson'), `${JSON.stringify(sample)}\n{"detail-type": "\u001b[31mnot an event\u0007"}\n`);
    env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
    const replay = await runCli(['replay', '--file', join(dir, 'events.ndjson'), '--json'], env);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ accepted: 1, deadLetters: 1 });
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('findings, dead-letters and the console notifier show control characters escaped', async () => {
    const findings = await runCli(['findings'], env);
    expect(findings.stdout).toContain('sg-1\\e[2J\\e]0;owned\\x07\\r\\n`x`');
    expect(findings.stdout).not.toMatch(ControlChars);
    const letters = await runCli(['dead-letters'], env);
    expect(letters.code).toBe(0);
    expect(letters.stdout).toMatch(/^1 pending dead letter\(s\)\.$/m);
    expect(letters.stdout).not.toMatch(ControlChars);
    const notify = await runCli(['notify', '--once'], env);
    expect(notify.code).toBe(0);
    expect(notify.stdout).toContain('[slack #compliance-triage] OPEN ');
    expect(notify.stdout).toContain('sg-1\\e[2J');
    expect(notify.stdout.replaceAll('\n', '')).not.toMatch(ControlChars);
    // JSON keeps the exact value for programs.
    const json = JSON.parse((await runCli(['findings', '--json'], env)).stdout) as { resourceId: string }[];
    expect(json[0]!.resourceId).toBe(Hostile);
  });

  it('migrate --json never prints a password given in the query string', async () => {
    const url = new URL(database.url);
    url.searchParams.set('password', 'queryS3cret');
    const result = await runCli(['migrate', '--json'], { ...env, DATABASE_URL: url.toString() });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('queryS3cret');
    expect(JSON.parse(result.stdout).database).toContain('password=[redacted]');
  });

  it.each([
    [['redrive', '--id', '99999999999999999999'], /^driftwatch: invalid --id "99999999999999999999": expected dead letter ids/],
    [['redrive', '--id', '-1'], /^driftwatch: invalid --id "-1"/],
    [['redrive', '--limit', '1e30'], /^error: option '--limit <n>' argument '1e30' is invalid\. expected a whole number from 1 to 1,000,000/],
    [['dead-letters', '--limit', '0'], /argument '0' is invalid\. expected a whole number from 1 to 1,000,000/],
    [['findings', '--limit', '9007199254740993'], /expected a whole number from 1 to 1,000,000/],
  ])('refuses %j in one line, not with a raw database error', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBeGreaterThan(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd()).not.toContain('\n');
    expect(result.stderr).not.toMatch(/out of range|bigint|syntax/i);
  });

  it('exception add --until 9999-12-31 shows the day given, not the year 10000', async () => {
    const add = await runCli(['exception', 'add', '--rule', 'vpc-sg-open-only-to-authorized-ports', '--until', '9999-12-31', '--reason', 'forever', '--by', 'alice'], env);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('until end of 9999-12-31 (UTC)');
    expect(add.stdout).not.toContain('10000');
    const list = await runCli(['exception', 'list'], env);
    expect(list.stdout).toContain('end of 9999-12-31 (UTC)');
  });

  it('exception add refuses a misspelled rule or an unknown account unless --force (issue 14 item 9)', async () => {
    const args = (rule: string, account?: string) => ['exception', 'add', '--rule', rule, ...(account ? ['--account', account] : []), '--until', '2099-01-01', '--reason', 'r', '--by', 'b'];
    const typo = await runCli(args('vpc-sg-open-only-to-authorised-ports'), env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      'driftwatch: rule vpc-sg-open-only-to-authorised-ports is not in the rule catalog and no evaluation names it: check the spelling, or pass --force to create the exception anyway\n',
    );
    const account = await runCli(args('vpc-sg-open-only-to-authorized-ports', '999988887777'), env);
    expect(account.code).toBe(1);
    expect(account.stderr).toContain('account 999988887777 is not in the account registry and has no evaluations');
    // Known from an evaluation (no registry here): accepted without --force.
    expect((await runCli(args('vpc-sg-open-only-to-authorized-ports', '111122223333'), env)).code).toBe(0);
    const forced = await runCli([...args('my-custom-rule'), '--force'], env);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toBe('note: rule my-custom-rule is not in the rule catalog and no evaluation names it (--force)\n');
  });
});
