import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliContext } from '../../pipeline/cli/cli-context.ts';
import { main } from '../../pipeline/cli/main.ts';
import { renderNotifySummary } from '../../pipeline/cli/commands/notify-command.ts';
import { EmptyDrainSummary } from '../../pipeline/notify/notifier.ts';
import { SlackServer } from '../slack-server/slack-server.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { assertionClient, dropIndices } from '../opensearch/support/opensearch-test-index.ts';
import type { TestDatabase } from '../support/postgres.ts';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');
const OpenSearchUrl = process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9200';
/** Index prefixes the tests below install (dropped at the end). */
const prefixes = [`dwtest-${randomBytes(4).toString('hex')}`, `dwtest-${randomBytes(4).toString('hex')}`];

/** The real CLI context (its own logger and log format choice), with captured streams. */
async function runRealCli(argv: string[], env: NodeJS.ProcessEnv, options: { terminal?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: options.terminal ?? false });
  stdout.on('data', (c: Buffer) => out.push(String(c)));
  stderr.on('data', (c: Buffer) => err.push(String(c)));
  const code = await main(argv, createCliContext(env, { stdout, stderr }));
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** A database with no driftwatch schema at all. */
async function emptyDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `dw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

describe('operator experience (issue 14 items 1-5)', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'dw-ops-'));
    env = { DATABASE_URL: database.url };
  });

  afterAll(async () => {
    await database?.drop();
    const client = assertionClient(OpenSearchUrl);
    for (const prefix of prefixes) await dropIndices(client, prefix);
    await client.close();
  });

  it('one-shot commands print no info logs next to their output; a warning shows readable on a terminal', async () => {
    const quiet = await runRealCli(['findings'], env);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe('No open findings.\n');
    // A warning (here: an index the installer leaves alone is not needed; a missing ISM plugin is one) in pretty form.
    const migrate = await runRealCli(['migrate'], { ...env, OPENSEARCH_URL: OpenSearchUrl, OPENSEARCH_INDEX_PREFIX: prefixes[0]! }, { terminal: true });
    expect(migrate.code).toBe(0);
    expect(migrate.stderr).toMatch(/^\d\d:\d\d:\d\d {2}WARN {3}opensearch retention policy not installed/m);
    expect(migrate.stderr).not.toContain('"level"');
    // --log-format json and LOG_LEVEL override.
    const opensearch = { OPENSEARCH_URL: OpenSearchUrl, OPENSEARCH_INDEX_PREFIX: prefixes[1]! };
    const json = await runRealCli(['--log-format', 'json', 'migrate'], { ...env, ...opensearch, LOG_LEVEL: 'info' }, { terminal: true });
    expect(json.code).toBe(0);
    expect(json.stdout).toMatch(/^Database schema is up to date\.\n/);
    expect(json.stderr).toContain('"msg":"opensearch indices installed"');
    // JSON lines even on a terminal, at info level: every line parses.
    const jsonLines = json.stderr.trimEnd().split('\n').filter((line) => line.length > 0);
    expect(jsonLines.length).toBeGreaterThan(0);
    for (const line of jsonLines) expect(JSON.parse(line)).toHaveProperty('level');
    const refused = await runRealCli(['--log-format', 'xml', 'findings'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/option '--log-format <format>' argument 'xml' is invalid/);
  });

  it('says what failed and what to do when the database is unreachable or missing', async () => {
    const refused = await runCli(['findings'], { DATABASE_URL: 'postgres://driftwatch:s3cret@127.0.0.1:5999/x' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'driftwatch: cannot connect to the database at 127.0.0.1:5999 (ECONNREFUSED): is Postgres running and reachable there? Check the host and port in DATABASE_URL\n',
    );
    const missing = await runCli(['migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dw_no_such_database' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'driftwatch: database "dw_no_such_database" does not exist on 127.0.0.1:5432: create it (createdb dw_no_such_database) or fix the database name in DATABASE_URL\n',
    );
  });

  it('read-only commands never migrate: on an empty database they say to run driftwatch migrate, and migrate does', async () => {
    const empty = await emptyDatabase();
    try {
      for (const command of [['findings'], ['dead-letters'], ['report', '--month', '2026-01'], ['exception', 'list']]) {
        const result = await runCli(command, { DATABASE_URL: empty.url });
        expect(result.code, command.join(' ')).toBe(1);
        expect(result.stderr).toBe('driftwatch: the database has no driftwatch schema yet: run `driftwatch migrate` first (it needs the rights to create tables)\n');
      }
      const client = new pg.Client({ connectionString: empty.url });
      await client.connect();
      const tables = await client.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`);
      expect(tables.rows[0].n).toBe(0);
      await client.end();
      expect((await runCli(['migrate'], { DATABASE_URL: empty.url })).code).toBe(0);
      // One migration behind: said so, with its name.
      const behind = new pg.Client({ connectionString: empty.url });
      await behind.connect();
      const last = await behind.query(`select name from kysely_migration order by name desc limit 1`);
      await behind.query(`delete from kysely_migration where name = $1`, [last.rows[0].name]);
      await behind.end();
      const stale = await runCli(['findings'], { DATABASE_URL: empty.url });
      expect(stale.stderr).toBe(`driftwatch: the database schema is behind this version of driftwatch (1 migration(s) pending: ${last.rows[0].name}): run \`driftwatch migrate\`\n`);
    } finally {
      await empty.drop();
    }
  });

  it('--limit limits and says how many more; dead-letters shows a STATUS column', async () => {
    const sample = await readFile(join(import.meta.dirname, '../fixtures/samples', 'compliance-change-noncompliant.json'), 'utf8');
    const lines = Array.from({ length: 7 }, (_, i) => `{"bad": ${i}}`);
    const events = Array.from({ length: 3 }, (_, i) => {
      const event = JSON.parse(sample);
      event.id = `limit-${i}`;
      event.detail.resourceId = `sg-limit-${i}`;
      event.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.resourceId = `sg-limit-${i}`;
      return JSON.stringify(event);
    });
    await writeFile(join(dir, 'limit.ndjson'), `${[...lines, ...events].join('\n')}\n`);
    expect((await runCli(['replay', '--file', join(dir, 'limit.ndjson')], env)).code).toBe(0);
    const letters = await runCli(['dead-letters', '--limit', '5'], env);
    expect(letters.stdout).toContain('5 of 7 pending dead letter(s), newest first; 2 more (--limit 7 shows all).');
    expect(letters.stdout.split('\n').filter((l) => /^\d+\s+pending\s/.test(l))).toHaveLength(5);
    const all = await runCli(['dead-letters', '--status', 'all'], env);
    expect(all.stdout).toMatch(/^ID\s+STATUS\s+CREATED/m);
    expect(all.stdout).toContain('7 dead letter(s).');
    const findings = await runCli(['findings', '--limit', '2'], env);
    expect(findings.stdout).toContain('2 of 3 finding(s), newest first; 1 more (--limit 3 shows all).');
  });

  it('notify --once: both sentences of its summary add up', () => {
    const text = renderNotifySummary({ ...EmptyDrainSummary, claimed: 2_100, sent: 2_075, suppressed: 10, failed: 5, retried: 10, posted: 1_037, updated: 1_643, digested: 180, digestsPosted: 4, digestsUpdated: 9 }, 12, null);
    expect(text).toBe(
      '2,100 notification(s) handled: 2,075 delivered, 10 suppressed (risk exception), 5 failed, 10 deferred (rate limit or Slack unavailable).\n' +
        'In Slack: 1,037 message(s) posted, 1,643 edited, 180 channel deliveries folded into digests (4 digest(s) posted, 9 updated).\n' +
        '12 notification(s) still waiting.\n',
    );
  });
});

describe('run --until-caught-up (issue 14 item 4)', () => {
  let kinesis: LocalKinesis;
  let slack: SlackServer;
  let database: TestDatabase;

  beforeAll(async () => {
    [kinesis, slack, database] = await Promise.all([startLocalKinesis(), SlackServer.start({ rateLimiting: false }), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([kinesis?.close(), slack?.close(), database?.drop()]);
  });

  const runUntilCaughtUp = (extraEnv: Record<string, string>, args: string[] = []) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [Bin, 'run', '--until-caught-up', ...args], {
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          KINESIS_ENDPOINT: kinesis.endpoint,
          KINESIS_STREAM: 'caught-up',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          SLACK_TOKEN: 'xoxb-test',
          SLACK_API_URL: slack.url,
          SLACK_CHANNEL_INTERVAL_MS: '0',
          DRIFTWATCH_POLL_INTERVAL_MS: '200',
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += String(c)));
      child.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('prints a summary and exits only once every notification is delivered', async () => {
    await kinesis.createStream('caught-up', 2);
    const at = Date.parse('2026-03-02T09:00:00Z');
    const events = Array.from({ length: 6 }, (_, i) => complianceEvent({ id: `cu-${i}`, resourceId: `bucket-${i}`, compliance: 'NON_COMPLIANT', at: at + i }));
    await kinesis.put('caught-up', events.map((e) => ({ data: JSON.stringify(e), partitionKey: e.detail.resourceId })));
    const result = await runUntilCaughtUp({});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Caught up: 6 record\(s\) in [\d.]+ s\n {2}accepted {5}6\n/);
    expect(result.stdout).toContain('  opened       6 finding(s)');
    expect(result.stdout).toContain('Notifications: all delivered.');
    const outbox = await database.db.selectFrom('notification_outbox').select(['status']).execute();
    expect(outbox.length).toBeGreaterThanOrEqual(6);
    expect(outbox.every((row) => row.status === 'sent')).toBe(true);
  });

  it('says plainly how many are left and why when Slack holds them back', async () => {
    const at = Date.parse('2026-03-03T09:00:00Z');
    const events = Array.from({ length: 2 }, (_, i) => complianceEvent({ id: `cu-late-${i}`, resourceId: `late-${i}`, compliance: 'NON_COMPLIANT', at: at + i }));
    await kinesis.put('caught-up', events.map((e) => ({ data: JSON.stringify(e), partitionKey: e.detail.resourceId })));
    slack.setOutage({ status: 503 });
    try {
      const result = await runUntilCaughtUp({}, ['--drain-timeout', '2']);
      expect(result.code, result.stderr).toBe(0);
      // The two new findings, and escalations of the (long overdue) findings of both runs, cannot reach Slack.
      expect(result.stdout).toMatch(/\nNotifications: \d+ still waiting(, next due [\d-]+ [\d:]+ UTC)?: (they are held back|not all delivered within 2 s \(--drain-timeout\))/);
      const waiting = Number(/Notifications: (\d+) still waiting/.exec(result.stdout)?.[1]);
      const unsent = await database.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('status', 'in', ['pending', 'claimed']).executeTakeFirstOrThrow();
      expect(waiting).toBe(Number(unsent.n));
      expect(waiting).toBeGreaterThanOrEqual(2);
      expect(result.stdout).toContain('`driftwatch notify` or the next `driftwatch run` delivers them.');
    } finally {
      slack.clearFaults();
    }
  });
});
