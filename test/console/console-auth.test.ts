import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlbIdentityError, AlbIdentityVerifier } from '../../pipeline/console/auth/alb-identity.ts';
import { LoginThrottle } from '../../pipeline/console/auth/login-throttle.ts';
import { SessionCookies } from '../../pipeline/console/auth/session-cookie.ts';
import { safeNext } from '../../pipeline/console/console-app.ts';
import { consoleAuth } from '../../pipeline/console/console-server.ts';
import { ConsoleSettings, loadConsoleSettings } from '../../pipeline/console/console-settings.ts';
import { AlbArn, albToken } from './console-fixture.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const Kid = '0e7f2a6b-7d3c-4f1e-9a52-6c1b2d3e4f50';
const now = Date.parse('2026-06-01T12:00:00Z');
const exp = now / 1_000 + 60;

describe('ALB identity header (x-amzn-oidc-data)', () => {
  let keyFile: string;
  let keyServer: Server;
  let keyBase: string;
  const keyRequests: string[] = [];

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dw-alb-'));
    keyFile = join(dir, 'key.pem');
    await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    // Serves PEM keys by key id, as public-keys.auth.elb.<region>.amazonaws.com does.
    keyServer = createServer((request, response) => {
      keyRequests.push(request.url ?? '');
      if (request.url === `/${Kid}`) return void response.writeHead(200, { 'content-type': 'text/plain' }).end(publicKey.export({ type: 'spki', format: 'pem' }));
      if (request.url === '/rsa-key') return void response.writeHead(200).end(rsa.publicKey.export({ type: 'spki', format: 'pem' }));
      response.writeHead(404).end('no such key');
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', () => resolve()));
    keyBase = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => keyServer.close(() => resolve()));
  });

  const byFile = () => new AlbIdentityVerifier({ albArn: AlbArn, keys: { file: keyFile }, now: () => now });
  const byUrl = () => new AlbIdentityVerifier({ albArn: AlbArn, keys: { baseUrl: keyBase }, now: () => now });

  it('accepts a header the ALB signed (padded base64url parts), from a key file and from the key URL (fetched once per key id)', async () => {
    const token = albToken(privateKey, { signer: AlbArn, exp, kid: Kid }, { email: 'ops@example.com' });
    expect(token).toMatch(/=/); // the padding generic JWT libraries refuse
    expect(await byFile().verify(token)).toEqual({ user: 'ops@example.com', subject: 'user-123' });
    const verifier = byUrl();
    expect((await verifier.verify(token)).user).toBe('ops@example.com');
    expect((await verifier.verify(token)).user).toBe('ops@example.com');
    expect(keyRequests.filter((url) => url === `/${Kid}`)).toHaveLength(1);
  });

  it('falls back to the subject when the IdP gives no e-mail', async () => {
    const token = albToken(privateKey, { signer: AlbArn, exp, kid: Kid }, { email: undefined, sub: 'subject-9' });
    expect(await byFile().verify(token)).toEqual({ user: 'subject-9', subject: 'subject-9' });
  });

  const refusals: [string, () => string, RegExp][] = [
    ['signed by another key', () => albToken(other.privateKey, { signer: AlbArn, exp, kid: Kid }, {}), /signature does not verify/],
    ['signed by another load balancer', () => albToken(privateKey, { signer: AlbArn.replace('50dc6c495c0c9188', '0000000000000000'), exp, kid: Kid }, {}), /another load balancer/],
    ['expired', () => albToken(privateKey, { signer: AlbArn, exp: now / 1_000 - 120, kid: Kid }, {}), /expired/],
    ['alg none', () => albToken(privateKey, { signer: AlbArn, exp, kid: Kid, alg: 'none' }, {}), /not ES256/],
    ['a key id that is a path', () => albToken(privateKey, { signer: AlbArn, exp, kid: '../../etc/passwd' }, {}), /no valid key id/],
    ['not a JWT', () => 'hello', /not a JWT/],
    ['a header that is not JSON', () => 'bm90IGpzb24.e30.AAAA', /header header is not a JSON object/],
    ['a tampered payload', () => {
      const [h, , s] = albToken(privateKey, { signer: AlbArn, exp, kid: Kid }, {}).split('.');
      return `${h}.${Buffer.from(JSON.stringify({ email: 'admin@example.com', exp })).toString('base64url')}.${s}`;
    }, /signature does not verify/],
  ];
  for (const [name, token, reason] of refusals) {
    it(`refuses a header ${name}`, async () => {
      await expect(byFile().verify(token())).rejects.toThrow(reason);
      await expect(byFile().verify(token())).rejects.toBeInstanceOf(AlbIdentityError);
    });
  }

  it('refuses when the key cannot be had or is not a P-256 key, and does not cache the failure', async () => {
    const unknownKid = albToken(privateKey, { signer: AlbArn, exp, kid: 'unknown-key' }, {});
    await expect(byUrl().verify(unknownKid)).rejects.toThrow(/HTTP 404/);
    await expect(byUrl().verify(albToken(privateKey, { signer: AlbArn, exp, kid: 'rsa-key' }, {}))).rejects.toThrow(/not a P-256 public key/);
    const missing = new AlbIdentityVerifier({ albArn: AlbArn, keys: { file: '/nonexistent/key.pem' }, now: () => now });
    await expect(missing.verify(albToken(privateKey, { signer: AlbArn, exp, kid: Kid }, {}))).rejects.toThrow(/cannot read ALB key file .* ENOENT/);
    const before = keyRequests.length;
    const verifier = byUrl();
    await expect(verifier.verify(unknownKid)).rejects.toThrow();
    await expect(verifier.verify(unknownKid)).rejects.toThrow();
    expect(keyRequests.length - before).toBe(2);
  });
});

describe('token sessions', () => {
  const sessions = new SessionCookies('a-long-console-token-123', 3_600_000);

  it('accepts its own unexpired cookie only', () => {
    const cookie = sessions.issue(now);
    expect(sessions.valid(cookie, now + 1_000)).toBe(true);
    expect(sessions.valid(cookie, now + 3_600_001)).toBe(false);
    expect(new SessionCookies('another-token-of-the-same-length', 3_600_000).valid(cookie, now)).toBe(false);
    const [expires, nonce, mac] = cookie.split('.');
    expect(sessions.valid(`${Number(expires) + 10_000_000}.${nonce}.${mac}`, now)).toBe(false);
    expect(sessions.valid(`${expires}.${nonce}.${mac!.slice(0, -2)}AA`, now)).toBe(false);
    for (const junk of [undefined, '', 'a.b', 'a.b.c.d', 'x'.repeat(500)]) expect(sessions.valid(junk, now)).toBe(false);
  });

  it('compares the token exactly', () => {
    expect(sessions.tokenMatches('a-long-console-token-123')).toBe(true);
    for (const wrong of ['', 'a-long-console-token-12', 'a-long-console-token-1234', 'A-long-console-token-123']) expect(sessions.tokenMatches(wrong)).toBe(false);
  });

  it('sends people back only to paths of the console after sign-in', () => {
    const cases: [string | undefined, string][] = [
      ['/teams/payments?severity=High', '/teams/payments?severity=High'],
      [undefined, '/'],
      ['https://evil.example.com/', '/'],
      ['//evil.example.com/', '/'],
      ['/\\evil.example.com', '/'],
      ['javascript:alert(1)', '/'],
      [`/${'a'.repeat(2_100)}`, '/'],
    ];
    for (const [next, expected] of cases) expect(safeNext(next)).toBe(expected);
  });

  it('throttles an address after ten wrong tokens within a minute, and forgets it after', () => {
    const throttle = new LoginThrottle({ failures: 10, windowMs: 60_000 });
    for (let i = 0; i < 9; i++) throttle.failed('10.0.0.1', now + i);
    expect(throttle.blocked('10.0.0.1', now + 10)).toBe(false);
    throttle.failed('10.0.0.1', now + 10);
    expect(throttle.blocked('10.0.0.1', now + 11)).toBe(true);
    expect(throttle.blocked('10.0.0.2', now + 11)).toBe(false);
    expect(throttle.blocked('10.0.0.1', now + 60_001)).toBe(false);
  });
});

describe('console settings', () => {
  it('refuses to serve without authentication, and names bad settings without printing the token', () => {
    expect(() => consoleAuth(ConsoleSettings.parse({}), '127.0.0.1')).toThrow(/needs authentication: set DRIFTWATCH_CONSOLE_TOKEN/);
    expect(() => loadConsoleSettings({ DRIFTWATCH_CONSOLE_TOKEN: 'short-secret' })).toThrow(/^invalid setting DRIFTWATCH_CONSOLE_TOKEN: expected at least 16 characters$/);
    expect(() => loadConsoleSettings({ DRIFTWATCH_CONSOLE_PORT: '70000' })).toThrow('invalid setting DRIFTWATCH_CONSOLE_PORT: expected a port number from 0 to 65535 (got "70000")');
    expect(() => loadConsoleSettings({ DRIFTWATCH_CONSOLE_ALB_ARN: 'arn:aws:s3:::bucket' })).toThrow(/DRIFTWATCH_CONSOLE_ALB_ARN: expected an application load balancer ARN/);
    expect(() => loadConsoleSettings({ DRIFTWATCH_CONSOLE_ALB_KEY_FILE: '/k.pem' })).toThrow(/DRIFTWATCH_CONSOLE_ALB_ARN: required with/);
  });

  it('binds loopback by default; Secure cookies unless on loopback (auto), as told otherwise', () => {
    const settings = loadConsoleSettings({ DRIFTWATCH_CONSOLE_TOKEN: 'a-long-console-token-123' });
    expect(settings.DRIFTWATCH_CONSOLE_HOST).toBe('127.0.0.1');
    expect(consoleAuth(settings, '127.0.0.1').secureCookie).toBe(false);
    expect(consoleAuth(settings, '0.0.0.0').secureCookie).toBe(true);
    expect(consoleAuth({ ...settings, DRIFTWATCH_CONSOLE_SECURE_COOKIE: 'true' }, '127.0.0.1').secureCookie).toBe(true);
    const alb = consoleAuth(loadConsoleSettings({ DRIFTWATCH_CONSOLE_ALB_ARN: AlbArn }), '0.0.0.0');
    expect(alb.sessions).toBeNull();
    expect(alb.alb).not.toBeNull();
  });
});
