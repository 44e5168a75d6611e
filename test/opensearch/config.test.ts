import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { createSecretRedactor } from '../../pipeline/sinks/opensearch/secret-redactor.ts';

describe('openSearchConfigFromSettings', () => {
  it('is null without OPENSEARCH_URL', () => {
    expect(openSearchConfigFromSettings(loadSettings({}))).toBeNull();
  });

  it('reads defaults: no auth, driftwatch prefix, 5 MiB bulks, 400 days retention', () => {
    expect(openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: 'http://127.0.0.1:9200/' }))).toEqual({
      url: 'http://127.0.0.1:9200',
      auth: { kind: 'none' },
      indexPrefix: 'driftwatch',
      tls: { insecure: false },
      bulkMaxBytes: 5 * 1024 * 1024,
      requestTimeoutMs: 30_000,
      retentionDays: 400,
    });
  });

  it('moves credentials out of the URL so the URL can be logged', () => {
    const config = openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: 'https://admin:s%40cret@search.example.com:9200', OPENSEARCH_AUTH: 'basic' }));
    expect(config?.url).toBe('https://search.example.com:9200');
    expect(config?.auth).toEqual({ kind: 'basic', username: 'admin', password: 's@cret' });
  });

  it('builds SigV4 auth from the AWS region and service', () => {
    const config = openSearchConfigFromSettings(
      loadSettings({ OPENSEARCH_URL: 'https://search-x.eu-west-1.es.amazonaws.com', OPENSEARCH_AUTH: 'sigv4', AWS_REGION: 'eu-west-1', OPENSEARCH_SIGV4_SERVICE: 'aoss' }),
    );
    expect(config?.auth).toEqual({ kind: 'sigv4', region: 'eu-west-1', service: 'aoss' });
  });

  it('names the missing variables of basic auth without printing any value', () => {
    expect(() => openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: 'https://h', OPENSEARCH_AUTH: 'basic', OPENSEARCH_USERNAME: 'u' }))).toThrow(
      /OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD/,
    );
  });

  it('never prints OPENSEARCH_URL in a settings error (it may carry a password)', () => {
    expect(() => loadSettings({ OPENSEARCH_URL: 'not a url p4ssw0rd' })).toThrow(/OPENSEARCH_URL/);
    expect(() => loadSettings({ OPENSEARCH_URL: 'not a url p4ssw0rd' })).not.toThrow(/p4ssw0rd/);
  });
});

describe('createSecretRedactor', () => {
  it('removes the password in clear, URL-encoded and inside a Basic authorization header', () => {
    const redact = createSecretRedactor({ kind: 'basic', username: 'admin', password: 'p@ss word' });
    const basic = Buffer.from('admin:p@ss word').toString('base64');
    const out = redact(`got p@ss word, p%40ss%20word and Basic ${basic}`);
    expect(out).not.toContain('p@ss word');
    expect(out).not.toContain('p%40ss%20word');
    expect(out).not.toContain(basic);
    expect(out).toContain('[redacted]');
  });
});
