import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../../schemas/config-file-error.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';

function errorOf(env: Record<string, string>): ConfigFileError {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return error as ConfigFileError;
  }
  throw new Error(`loadSettings accepted ${JSON.stringify(env)}`);
}

describe('loadSettings', () => {
  it('gives the defaults for an empty environment', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      DATABASE_POOL_SIZE: 8,
      KINESIS_STREAM: 'driftwatch-compliance',
      AWS_REGION: 'us-east-1',
      DRIFTWATCH_BATCH_LIMIT: 2_000,
      DRIFTWATCH_MAX_IN_FLIGHT: 1,
      DRIFTWATCH_STATE_CACHE_SIZE: 20_000,
      DRIFTWATCH_POLL_INTERVAL_MS: 250,
      DRIFTWATCH_LEASE_MS: 30_000,
      DRIFTWATCH_PROCESSED_RETENTION_DAYS: 14,
      DRIFTWATCH_MAX_RECORD_BYTES: 262_144,
      OPENSEARCH_AUTH: 'none',
      OPENSEARCH_INDEX_PREFIX: 'driftwatch',
      OPENSEARCH_TLS_INSECURE: false,
      SLACK_SECURITY_CHANNEL: '#security-compliance',
      SLACK_DEFAULT_CHANNEL: '#compliance-triage',
      SLACK_SECURITY_SEVERITIES: 'Critical,High,Medium,Low',
    });
    // Unset: the command decides (info for services, warn for one-shot commands).
    expect(settings.LOG_LEVEL).toBeUndefined();
    expect(settings.DATABASE_URL).toBeUndefined();
    expect(settings.KINESIS_ENDPOINT).toBeUndefined();
    expect(settings.SLACK_TOKEN).toBeUndefined();
  });

  it('treats an empty variable as unset and ignores variables it does not know', () => {
    const settings = loadSettings({ DRIFTWATCH_BATCH_LIMIT: '', AWS_REGION: '', HOME: '/root', PATH: '/bin' });
    expect(settings.DRIFTWATCH_BATCH_LIMIT).toBe(2_000);
    expect(settings.AWS_REGION).toBe('us-east-1');
    expect(settings).not.toHaveProperty('HOME');
  });

  it('reads valid values, converting numbers and booleans', () => {
    const settings = loadSettings({
      DATABASE_URL: 'postgresql://driftwatch:pw@db:5432/driftwatch',
      KINESIS_ENDPOINT: 'http://127.0.0.1:4567',
      AWS_REGION: 'ap-northeast-1',
      DRIFTWATCH_BATCH_LIMIT: '10000',
      DRIFTWATCH_MAX_IN_FLIGHT: '1',
      OPENSEARCH_TLS_INSECURE: 'yes',
      LOG_LEVEL: 'debug',
      SLACK_TOKEN: 'xoxb-1-2-3',
    });
    expect(settings).toMatchObject({
      DATABASE_URL: 'postgresql://driftwatch:pw@db:5432/driftwatch',
      KINESIS_ENDPOINT: 'http://127.0.0.1:4567',
      AWS_REGION: 'ap-northeast-1',
      DRIFTWATCH_BATCH_LIMIT: 10_000,
      DRIFTWATCH_MAX_IN_FLIGHT: 1,
      OPENSEARCH_TLS_INSECURE: true,
      LOG_LEVEL: 'debug',
      SLACK_TOKEN: 'xoxb-1-2-3',
    });
  });

  it.each([
    ['DRIFTWATCH_BATCH_LIMIT', 'abc', /expected a whole number from 1 to 10000/],
    ['DRIFTWATCH_BATCH_LIMIT', '0', /expected a whole number from 1 to 10000/],
    ['DRIFTWATCH_BATCH_LIMIT', '20000', /expected a whole number from 1 to 10000/],
    ['DRIFTWATCH_BATCH_LIMIT', '1.5', /expected a whole number from 1 to 10000/],
    ['DRIFTWATCH_BATCH_LIMIT', '-3', /expected a whole number from 1 to 10000/],
    ['DRIFTWATCH_LEASE_MS', '1000', /expected a whole number from 5000 to 600000/],
    ['KINESIS_ENDPOINT', 'not-a-url', /expected a URL/],
    // A scheme-less host:port parses as a URL with the scheme "localhost:".
    ['KINESIS_ENDPOINT', 'localhost:4567', /expected a URL \(http:\/\/ or https:\/\/\)/],
    ['KINESIS_ENDPOINT', 'ftp://127.0.0.1:4567', /expected a URL \(http:\/\/ or https:\/\/\)/],
    ['AWS_REGION', 'mars', /expected an AWS region such as us-east-1/],
    ['AWS_REGION', 'US-EAST-1', /expected an AWS region/],
    ['LOG_LEVEL', 'loud', /"trace"\|"debug"\|"info"/],
    ['OPENSEARCH_AUTH', 'kerberos', /"none"\|"basic"\|"sigv4"/],
    ['OPENSEARCH_TLS_INSECURE', 'maybe', /invalid setting OPENSEARCH_TLS_INSECURE: /],
    ['KINESIS_STREAM', 'bad stream name', /expected a Kinesis stream name/],
  ])('rejects %s=%s with a one-line message naming the variable and showing the value', (name, value, problem) => {
    const error = errorOf({ [name]: value });
    expect(error.name).toBe('ConfigFileError');
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(`invalid setting ${name}: `)).toBe(true);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain(`(got ${JSON.stringify(value)})`);
  });

  it.each([
    ['DATABASE_URL', 'mysql://u:secret@h/db', /expected a postgres:\/\/ URL/, ['secret', 'mysql', 'u:', '@h']],
    ['SLACK_TOKEN', 'bot-token-s3cr3t-value', /expected a Slack token/, ['s3cr3t', 'bot-token']],
    ['OPENSEARCH_URL', 'admin:hunter2@search', /expected a URL/, ['hunter2', 'admin']],
    ['OPENSEARCH_URL', 'https://admin:hunter2@', /expected a URL/, ['hunter2', 'admin']],
  ])('rejects %s without printing its secret value', (name, value, problem, fragments) => {
    const error = errorOf({ [name]: value });
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(`invalid setting ${name}: `)).toBe(true);
    expect(error.message).toMatch(problem);
    expect(error.message).not.toContain(value);
    for (const fragment of fragments) expect(error.message).not.toContain(fragment);
    expect(String(error.stack)).not.toContain(value);
  });

  it('never prints valid secrets when another variable is wrong', () => {
    const error = errorOf({
      DATABASE_URL: 'postgres://driftwatch:topsecret@db/driftwatch',
      SLACK_TOKEN: 'xoxb-very-secret-token',
      OPENSEARCH_PASSWORD: 'hunter2',
      AWS_REGION: 'mars',
    });
    expect(error.message).toBe('invalid setting AWS_REGION: expected an AWS region such as us-east-1 (got "mars")');
  });
});
