import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { formatTable as formatQueryTable } from '../../pipeline/analytics/format-table.ts';
import { formatTable } from '../../pipeline/cli/output/format-table.ts';
import { printable } from '../../pipeline/cli/output/printable.ts';
import { main } from '../../pipeline/cli/main.ts';
import type { CliContext } from '../../pipeline/cli/cli-context.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';
import { createLogger } from '../../pipeline/logging/create-logger.ts';
import { createRedactor, redactorFor, redactUrls } from '../../pipeline/logging/redact-secrets.ts';
import { formatLogLine } from '../../pipeline/logging/pretty-log-stream.ts';
import { MetricsServer } from '../../pipeline/metrics/metrics-server.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import { codeSpan } from '../../pipeline/notify/slack/mrkdwn.ts';
import { formatReportCsv } from '../../pipeline/report/formatters/format-csv.ts';
import type { MonthlyReport } from '../../pipeline/report/monthly-report.ts';
import { loadRuleCatalog } from '../../pipeline/config/load-rule-catalog.ts';
import { loadAccountRegistry } from '../../pipeline/config/load-account-registry.ts';
import { loadSlaPolicy } from '../../pipeline/config/load-sla-policy.ts';

async function configFile(name: string, text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'dw-hard-')), name);
  await writeFile(path, text);
  return path;
}

async function failureOf(load: Promise<unknown>): Promise<Error> {
  const error = await load.then(() => null, (e: unknown) => e as Error);
  if (!error) throw new Error('expected a failure');
  return error;
}

describe('secrets never printed (issue 9 item 6)', () => {
  it.each([
    ['postgres://u@h/db?password=s3cretpw', 'postgres://u@h/db?password=[redacted]'],
    ['postgres://u@h/db?sslmode=require&sslpassword=s3cretpw&application_name=x', 'postgres://u@h/db?sslmode=require&sslpassword=[redacted]&application_name=x'],
    ['postgresql://app:s3cretpw@db:5432/x', 'postgresql://app:[redacted]@db:5432/x'],
    ['https://hooks:p@ss w0rd@slack.internal/api', 'https://hooks:[redacted]@slack.internal/api'],
    ['https://ghp_T0KEN@proxy.example/api', 'https://[redacted]@proxy.example/api'],
    ['https://s3.amazonaws.com/b/k?X-Amz-Credential=AKIA1&X-Amz-Signature=abcd', 'https://s3.amazonaws.com/b/k?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]'],
    ['connect to http://127.0.0.1:9200 failed', 'connect to http://127.0.0.1:9200 failed'],
  ])('redactUrls(%j)', (input, expected) => {
    expect(redactUrls(input)).toBe(expected);
  });

  it.each([
    ['SLACK_API_URL', 'ftp://bot:hunter22@slack.internal/api'],
    ['KINESIS_ENDPOINT', 'localhost://aws:hunter22@kinesis:4567'],
    ['DRIFTWATCH_RUNBOOK_BASE_URL', 'https://wiki:hunter22@wiki.example.com/rules'],
  ])('an invalid %s is named and shown with its credentials redacted', (name, value) => {
    const error = (() => {
      try {
        loadSettings({ [name]: value });
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error.message.startsWith(`invalid setting ${name}: `)).toBe(true);
    expect(error.message).not.toContain('hunter22');
    expect(error.message).toContain(':[redacted]@');
  });

  it('removes every secret of the settings from log lines, by value, wherever they appear', () => {
    const settings = loadSettings({
      DATABASE_URL: 'postgres://app@db/x?password=pgS3cret',
      SLACK_TOKEN: 'xoxb-111-222-slackS3cret',
      SLACK_API_URL: 'https://bot:apiS3cret@slack.internal/api',
      OPENSEARCH_URL: 'https://admin:osS3cret@search:9200',
    });
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const logger = createLogger('info', { redact: redactorFor(settings), destination: sink });
    logger.error({ err: new Error('auth failed for xoxb-111-222-slackS3cret at https://bot:apiS3cret@slack.internal/api') }, 'slack call failed');
    logger.warn({ detail: 'pg said: password "pgS3cret" rejected', basic: `Basic ${Buffer.from('admin:osS3cret').toString('base64')}` }, 'opensearch refused');
    logger.info({ url: settings.DATABASE_URL }, 'connecting');
    const text = lines.join('');
    expect(lines).toHaveLength(3);
    for (const secret of ['slackS3cret', 'apiS3cret', 'pgS3cret', 'osS3cret', Buffer.from('admin:osS3cret').toString('base64')]) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('an error line of the CLI never carries a secret, even one inside an error message', async () => {
    const stderr = new PassThrough();
    const out: string[] = [];
    stderr.on('data', (chunk: Buffer) => out.push(String(chunk)));
    const env = { SLACK_TOKEN: 'xoxb-1-2-cliS3cret', DATABASE_URL: 'postgres://u@db/x?password=dbS3cret' };
    const context: CliContext = {
      env,
      stdout: new PassThrough(),
      stderr,
      settings: () => loadSettings(env),
      logger: () => pino({ level: 'silent' }),
      runtime: async () => {
        throw new Error('could not open postgres://u@db/x?password=dbS3cret with token xoxb-1-2-cliS3cret\u001b[2J');
      },
    };
    expect(await main(['findings'], context)).toBe(1);
    const line = out.join('');
    expect(line).toBe('driftwatch: could not open postgres://u@db/x?password=[redacted] with token [redacted]\\e[2J\n');
  });

  it('a redactor ignores values too short to be credentials (they would shred ordinary text)', () => {
    expect(createRedactor(['ab', 'longer-secret'])('ab is fine, longer-secret is not')).toBe('ab is fine, [redacted] is not');
  });
});

describe('terminal escape injection (issue 9 item 8)', () => {
  it('shows every control character escaped', () => {
    expect(printable('bucket\u001b[2J\r\nowned\t\u0007\u009b31m\u202egpj.exe')).toBe('bucket\\e[2J\\r\\nowned\\t\\x07\\x9b31m\\u202egpj.exe');
    expect(printable('line one\nline two', { multiline: true })).toBe('line one\nline two');
    expect(printable('plain ascii, ünïcödé, 日本語')).toBe('plain ascii, ünïcödé, 日本語');
  });

  it('tables (CLI and analyst queries) and pretty log lines print escaped cells', () => {
    const table = formatTable(['ID', 'REASON'], [[1, 'bad\u001b]0;pwned\u0007 \r\nline']]);
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(table).toContain('bad\\e]0;pwned\\x07 \\r\\nline');
    const query = formatQueryTable([{ key: 'r', title: 'RESOURCE', align: 'left' }], [{ r: 'sg-1\u001b[31mred' }]);
    expect(query).toContain('sg-1\\e[31mred');
    const log = formatLogLine(JSON.stringify({ level: 40, time: 0, msg: 'dead letter', reason: 'x\u001b[2Jy' }));
    expect(log).toBe('00:00:00  WARN   dead letter  reason=x\\e[2Jy\n');
  });
});

describe('SLA policy values are bounded at load (issue 9 item 9)', () => {
  it.each([
    ['severities:\n  High: { within: { businessDays: 100000000 }, escalate: true }\n', /severities\.High\.within\.businessDays: at most 2000 business days/],
    ['severities:\n  Critical: { within: { hours: 1e300 }, escalate: true }\n', /severities\.Critical\.within\.hours: at most 87600 hours/],
    ['severities:\n  Medium: { within: { days: 40000 } }\n', /severities\.Medium\.within\.days: at most 3650 days/],
    ['reminderEveryHours: 0.0001\n', /reminderEveryHours: at least 1\/60 hour/],
    ['weekend: [1, 2, 3, 4, 5, 6]\nseverities:\n  High: { within: { businessDays: 1000 }, escalate: true }\n', /1000 business days do not fit in ten years of this calendar \(1 business day\(s\) a week/],
  ])('refuses %j in one line naming the field', async (text, message) => {
    const path = await configFile('sla.yaml', text);
    const error = await failureOf(loadSlaPolicy(path));
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error.message).toMatch(new RegExp(`^SLA policy file ${path} is invalid: `));
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('still loads the largest sane values', async () => {
    const path = await configFile('sla.yaml', 'severities:\n  High: { within: { businessDays: 2000 }, escalate: true }\n  Low: { within: { hours: 87600 } }\n');
    const sla = await loadSlaPolicy(path);
    expect(sla.deadline(Date.parse('2026-03-02T00:00:00Z'), 'High')).toBeGreaterThan(Date.parse('2033-01-01T00:00:00Z'));
  });
});

describe('the smaller ones (issue 9 item 11)', () => {
  it('an unknown YAML tag is a one-line error naming the file, not a multi-line warning', async () => {
    const path = await configFile('accounts.yaml', 'accounts:\n  - { id: !Ref AccountId, name: a, environment: production, owner: o }\n');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const error = await failureOf(loadAccountRegistry(path)).finally(() => process.off('warning', onWarning));
    expect(error).toBeInstanceOf(ConfigFileError);
    expect(error.message).toBe(`account registry file ${path} is not valid YAML/JSON: Unresolved tag: !Ref at line 2, column 11:`);
    expect(warnings).toEqual([]);
  });

  it('duplicate account ids in a registry are refused, naming both entries', async () => {
    const path = await configFile(
      'accounts.yaml',
      'accounts:\n  - { id: "111122223333", name: a, environment: production, owner: x }\n  - { id: "222233334444", name: b, environment: staging, owner: y }\n  - { id: "111122223333", name: c, environment: sandbox, owner: z }\n',
    );
    const error = await failureOf(loadAccountRegistry(path));
    expect(error.message).toBe(`account registry file ${path} is invalid: accounts.2.id: account 111122223333 is listed twice (entries 1 and 3)`);
  });

  it('runbookUrl takes https and http links only', async () => {
    const rule = (url: string) => `rules:\n  - { name: r, title: R, severity: High, scope: All, runbookUrl: "${url}" }\n`;
    for (const bad of ['javascript:alert(1)', 'data:text/html,hi', 'file:///etc/passwd']) {
      const error = await failureOf(loadRuleCatalog(await configFile('rules.yaml', rule(bad))));
      expect(error.message).toMatch(/rules\.0\.runbookUrl: expected an http:\/\/ or https:\/\/ link$/);
    }
    const good = await loadRuleCatalog(await configFile('rules.yaml', rule('http://wiki.internal/r')));
    expect(good.lookup('r').rule.runbookUrl).toBe('http://wiki.internal/r');
  });

  it('the metrics server binds loopback unless DRIFTWATCH_METRICS_HOST says otherwise', async () => {
    expect(loadSettings({}).DRIFTWATCH_METRICS_HOST).toBe('127.0.0.1');
    expect(loadSettings({ DRIFTWATCH_METRICS_HOST: '0.0.0.0' }).DRIFTWATCH_METRICS_HOST).toBe('0.0.0.0');
    expect(() => loadSettings({ DRIFTWATCH_METRICS_HOST: 'http://x' })).toThrow(/invalid setting DRIFTWATCH_METRICS_HOST/);
    const server = new MetricsServer({ port: 0, metrics: new PipelineMetrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }), health: async () => ({ healthy: true }) });
    await server.listen();
    try {
      const address = (server as unknown as { port: number }).port;
      expect(address).toBeGreaterThan(0);
      const bound = await fetch(`http://127.0.0.1:${address}/healthz`);
      expect(bound.status).toBe(200);
      // Not reachable on another local address of the machine (the wildcard bind would answer there).
      const other = await fetch(`http://127.0.0.2:${address}/healthz`).then(() => 'answered', () => 'refused');
      expect(other).toBe('refused');
    } finally {
      await server.close();
    }
  });

  it('CSV text cells that a spreadsheet would run as a formula are guarded; numbers are not', () => {
    const line = (accountName: string, change: number | null) => ({
      rank: 1, accountId: '111122223333', accountName, evaluated: 1, compliant: 1, complianceRate: 100, previousComplianceRate: null, change,
      openCritical: 0, openHigh: 0, excepted: 0, slaBreaches: 0, resolved: 0, meanTimeToResolveHours: null,
    });
    const report = { accounts: [line('=HYPERLINK("http://evil","x")', -3.5), line('+1', null), line('-2', null), line('@SUM(A1)', null), line('\tx', null), line('plain', null)] } as unknown as MonthlyReport;
    const rows = formatReportCsv(report).split('\r\n').slice(1, -1);
    expect(rows.map((row) => row.split(',')[2])).toEqual([`"'=HYPERLINK(""http://evil""`, "'+1", "'-2", "'@SUM(A1)", "'\tx", 'plain']);
    expect(rows[0]).toContain(',-3.5,');
  });

  it('a backtick in a resource id cannot leave its Slack code span', () => {
    const span = codeSpan('bucket`<!channel>`*bold*\nnext', 200);
    expect(span).toBe('`bucketˋ&lt;!channel&gt;ˋ*bold* next`');
    expect(span.slice(1, -1)).not.toContain('`');
  });
});

describe('account registry ids written as YAML numbers (issue 14 item 10)', () => {
  it('accepts an unquoted 12-digit id as the string it is', async () => {
    const path = await configFile('accounts.yaml', 'accounts:\n  - { id: 111122223333, name: a, environment: production, owner: o }\n');
    const registry = await loadAccountRegistry(path);
    expect(registry.lookup('111122223333')).toMatchObject({ known: true, account: { id: '111122223333', name: 'a' } });
  });

  it.each([
    ['id: 11122223333', /accounts\.0\.id: YAML read the id as the number 11122223333 and dropped its leading zeros: write it in quotes, e\.g\. "011122223333"$/],
    ['id: 1111222233334', /accounts\.0\.id: an AWS account id has 12 digits$/],
    ['id: 1.5', /accounts\.0\.id: an AWS account id has 12 digits$/],
  ])('refuses %s in one line that says what to do', async (id, message) => {
    const path = await configFile('accounts.yaml', `accounts:\n  - { ${id}, name: a, environment: production, owner: o }\n`);
    const error = await failureOf(loadAccountRegistry(path));
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });
});
