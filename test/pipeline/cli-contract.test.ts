import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { runCli } from '../support/cli.ts';

const samples = ['compliance-change-noncompliant.json', 'compliance-change-first-evaluation.json'];

describe('CLI contract: replay, findings --json, dead-letters, redrive', () => {
  let database: TestDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const events: Record<string, unknown>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'dw-cli-'));
    for (const sample of samples) events.push(JSON.parse(await readFile(join(import.meta.dirname, '../fixtures/samples', sample), 'utf8')));
    await writeFile(
      join(dir, 'accounts.yaml'),
      'accounts:\n  - { id: "111122223333", name: payments-prod, environment: production, owner: payments, slackChannel: "#payments" }\n',
    );
    env = { DATABASE_URL: database.url, DRIFTWATCH_ACCOUNTS: join(dir, 'accounts.yaml') };
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('replays an ndjson file and prints a JSON summary; bad lines become dead letters', async () => {
    const lines = [JSON.stringify(events[0]), '{"not": "an event"}', JSON.stringify(events[1]), JSON.stringify(events[0]), 'garbage{'];
    await writeFile(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
    const result = await runCli(['replay', '--file', join(dir, 'events.ndjson'), '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ records: 5, accepted: 2, duplicates: 1, opened: 2, resolved: 0, deadLetters: 2 });
  });

  it('lists findings as a JSON array with the documented fields', async () => {
    const result = await runCli(['findings', '--json'], env);
    expect(result.code).toBe(0);
    const findings = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(findings).toHaveLength(2);
    for (const finding of findings) {
      for (const field of ['findingId', 'accountId', 'region', 'rule', 'resourceType', 'resourceId', 'severity', 'status', 'openedAt', 'deadline', 'resolvedAt', 'owner']) {
        expect(finding).toHaveProperty(field);
      }
    }
    const sg = findings.find((f) => f.resourceId === 'sg-0a1b2c3d4e5f67890')!;
    expect(sg).toMatchObject({
      accountId: '111122223333',
      accountName: 'payments-prod',
      region: 'ap-northeast-1',
      rule: 'vpc-sg-open-only-to-authorized-ports',
      resourceType: 'AWS::EC2::SecurityGroup',
      severity: 'High',
      status: 'open',
      openedAt: '2026-03-04T10:14:51.902Z',
      resolvedAt: null,
      owner: 'payments',
    });
    // High = 3 business days: opened Wednesday -> due Monday, same time of day (UTC calendar).
    expect(sg.deadline).toBe('2026-03-09T10:14:51.902Z');
    const root = findings.find((f) => f.rule === 'root-account-mfa-enabled')!;
    expect(root).toMatchObject({ severity: 'Critical', owner: 'unowned', deadline: '2026-03-05T11:01:40.000Z' });
  });

  it('prints a readable table without --json, and filters by status', async () => {
    const table = await runCli(['findings'], env);
    expect(table.stdout).toMatch(/^SEVERITY\s+STATUS\s+ACCOUNT/m);
    expect(table.stdout).toContain('payments-prod (111122223333)');
    const resolved = await runCli(['findings', '--status', 'resolved', '--json'], env);
    expect(JSON.parse(resolved.stdout)).toEqual([]);
  });

  it('shows dead letters with reason and raw bytes, and redrive after a fix keeps failing ones pending', async () => {
    const list = await runCli(['dead-letters', '--json'], env);
    const letters = JSON.parse(list.stdout) as { reason: string; rawBase64: string; shardId: string; sequenceNumber: string }[];
    expect(letters).toHaveLength(2);
    expect(letters.map((l) => Buffer.from(l.rawBase64, 'base64').toString()).sort()).toEqual(['garbage{', '{"not": "an event"}']);
    expect(letters.every((l) => l.shardId.startsWith('replay:') && /^\d+$/.test(l.sequenceNumber))).toBe(true);
    expect(letters.find((l) => l.sequenceNumber === '5')!.reason).toMatch(/not JSON/);
    const redrive = await runCli(['redrive', '--json'], env);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ considered: 2, redriven: 0, failedAgain: 2 });
    const pending = await runCli(['dead-letters', '--json'], env);
    expect(JSON.parse(pending.stdout)).toEqual([]);
  });

  it('rejects bad arguments and settings with one line naming the problem', async () => {
    const badStatus = await runCli(['findings', '--status', 'closed'], env);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr.trim().split('\n')).toHaveLength(1);
    expect(badStatus.stderr).toContain('--status');
    const badSetting = await runCli(['findings'], { ...env, DRIFTWATCH_BATCH_LIMIT: '0' });
    expect(badSetting.code).toBe(1);
    expect(badSetting.stderr).toBe('driftwatch: invalid setting DRIFTWATCH_BATCH_LIMIT: expected a whole number from 1 to 10000 (got "0")\n');
    const secret = await runCli(['findings'], { ...env, DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(secret.stderr).toContain('DATABASE_URL');
    expect(secret.stderr).not.toContain('hunter2');
    const missingFile = await runCli(['replay', '--file', join(dir, 'nope.ndjson')], env);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/^driftwatch: cannot read .*nope\.ndjson: ENOENT\n$/);
  });
});
