import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../pipeline/cli/cli-context.ts';
import { registerQueryCommand } from '../../pipeline/cli/commands/query-command.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { createOpenSearchSink } from '../../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import { asItems, enrichedEvent, findingOf, tracked } from './support/fixtures.ts';

const Password = 'Tr0ub4dor&3-very-secret';
const Basic = Buffer.from(`analyst:${Password}`).toString('base64');

/**
 * A stand-in for a secured cluster (the local node has no security plugin): it records request headers and either
 * answers like OpenSearch or refuses every request with a 401 whose body echoes the credentials it got, the worst
 * case for leaking them into our errors.
 */
function handler(seen: IncomingHttpHeaders[], mode: () => 'ok' | 'reject') {
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      if (mode() === 'reject') {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="OpenSearch Security"' });
        res.end(JSON.stringify({ error: { type: 'security_exception', reason: `bad credentials analyst:${Password} (${req.headers.authorization ?? ''})` }, status: 401 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ cluster_name: 'fake', status: 'green' }));
    });
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

function captureLogs() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  return { logger, text: () => lines.join('') };
}

function expectNoSecret(text: string) {
  expect(text).not.toContain(Password);
  expect(text).not.toContain(encodeURIComponent(Password));
  expect(text).not.toContain(Basic);
}

describe('OpenSearch authentication and TLS', () => {
  const seen: IncomingHttpHeaders[] = [];
  let mode: 'ok' | 'reject' = 'ok';
  const server = createServer(handler(seen, () => mode));
  let url: string;

  beforeAll(async () => {
    url = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const basicSettings = () => loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_AUTH: 'basic', OPENSEARCH_USERNAME: 'analyst', OPENSEARCH_PASSWORD: Password });

  it('sends basic credentials', async () => {
    mode = 'ok';
    const sink = (await createOpenSearchSink(basicSettings(), pino({ level: 'silent' })))!;
    await sink.healthcheck(AbortSignal.timeout(5_000));
    await sink.close();
    expect(seen.at(-1)?.authorization).toBe(`Basic ${Basic}`);
  });

  it('never puts the password in errors or logs when authentication fails, even if the server echoes it', async () => {
    mode = 'reject';
    const logs = captureLogs();
    const sink = (await createOpenSearchSink(basicSettings(), logs.logger))!;

    const health = await sink.healthcheck(AbortSignal.timeout(5_000)).then(() => null, (error: Error) => error);
    expect(health?.message).toContain('HTTP 401');
    expectNoSecret(`${health?.message} ${(health?.cause as Error | undefined)?.message} ${JSON.stringify(health)}`);

    const event = enrichedEvent();
    const outcome = await sink.write({ shardId: 's', items: asItems([tracked(event, 'opened', findingOf(event))]) }, AbortSignal.timeout(5_000));
    expect(outcome.status).toBe('errored');
    if (outcome.status !== 'errored') return;
    expect(outcome.retriable).toBe(true); // credentials get fixed or rotated: stall, do not drop
    expect(outcome.error.message).toContain('401');
    expectNoSecret(`${outcome.error.message} ${JSON.stringify(outcome.error)}`);
    await sink.close();

    const client = createOpenSearchClient(openSearchConfigFromSettings(basicSettings())!);
    const install = await installOpenSearchIndices(client, basicSettings()).then(() => null, (error: Error) => error);
    await client.close();
    expect(install?.message).toContain('401');
    expectNoSecret(install?.message ?? '');

    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const context = { env: {}, stdout, stderr, settings: basicSettings, logger: () => logs.logger, runtime: () => Promise.reject(new Error('unused')) } as unknown as CliContext;
    const program = new Command().exitOverride();
    registerQueryCommand(program, context);
    const query = await program.parseAsync(['query', 'open-by-severity'], { from: 'user' }).then(() => null, (error: Error) => error);
    expect(query?.message).toContain('401');
    expectNoSecret(query?.message ?? '');

    expectNoSecret(logs.text());
  });

  it('signs requests with AWS SigV4 from the default credential chain', async () => {
    mode = 'ok';
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE1234567';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    try {
      const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_AUTH: 'sigv4', AWS_REGION: 'eu-west-1' });
      const sink = (await createOpenSearchSink(settings, pino({ level: 'silent' })))!;
      await sink.healthcheck(AbortSignal.timeout(5_000));
      await sink.close();
      const headers = seen.at(-1)!;
      expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234567\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/);
      expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(JSON.stringify(headers)).not.toContain('wJalrXUtnFEMI');
    } finally {
      process.env = saved;
    }
  });
});

describe('OpenSearch over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const seen: IncomingHttpHeaders[] = [];
  const server = createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handler(seen, () => 'ok'));
  let url: string;

  beforeAll(async () => {
    url = `https://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function healthcheck(env: Record<string, string>): Promise<Error | null> {
    const sink = (await createOpenSearchSink(loadSettings({ OPENSEARCH_URL: url, ...env }), pino({ level: 'silent' })))!;
    try {
      return await sink.healthcheck(AbortSignal.timeout(5_000)).then(() => null, (error: Error) => error);
    } finally {
      await sink.close();
    }
  }

  it('verifies the certificate against OPENSEARCH_TLS_CA_FILE, refuses an unknown one, and skips the check only when told', async () => {
    expect(await healthcheck({ OPENSEARCH_TLS_CA_FILE: certFile })).toBeNull();
    const refused = await healthcheck({});
    expect(refused?.message).toMatch(/self[- ]signed|certificate/i);
    expect(await healthcheck({ OPENSEARCH_TLS_INSECURE: 'true' })).toBeNull();
    expect(seen.length).toBe(2);
  });
});
