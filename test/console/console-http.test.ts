import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { assertionClient, dropIndices, testIndexPrefix } from '../opensearch/support/opensearch-test-index.ts';
import { Accounts, ConsoleToken, Hostile, startConsoleFixture } from './console-fixture.ts';
import type { ConsoleFixture } from './console-fixture.ts';

const Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

describe('web console over HTTP: data from a replay through the real pipeline', () => {
  let f: ConsoleFixture;
  let cookie: string;
  let search: Client;
  const prefix = testIndexPrefix();

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    search = assertionClient(url);
    f = await startConsoleFixture({
      env: { OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix },
      afterProcessing: async () => {
        await search.transport.request({ method: 'POST', path: `/${prefix}-events-*/_refresh` });
      },
    });
  }, 240_000);

  afterAll(async () => {
    await f?.close();
    if (search) {
      await dropIndices(search, prefix);
      await search.close();
    }
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${f.base}${path}`, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
  const page = async (path: string) => {
    const response = await get(path);
    expect(response.status, path).toBe(200);
    return response.text();
  };
  const login = (token: string, extra: Record<string, string> = {}) =>
    fetch(`${f.base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: f.base, ...extra },
      body: new URLSearchParams({ token, next: '/teams/payments?severity=High' }),
    });

  it('sends a visitor without a session to the login page, keeping where they were going', async () => {
    const response = await fetch(`${f.base}/teams/payments?severity=High`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?next=%2Fteams%2Fpayments%3Fseverity%3DHigh');
    const form = await (await fetch(`${f.base}/login?next=%2Fteams%2Fpayments`)).text();
    expect(form).toContain('<input type="hidden" name="next" value="/teams/payments">');
    expect(form).toContain('type="password"');
  });

  it('refuses a wrong token (401, no cookie) and a cross-site sign-in post (403)', async () => {
    const wrong = await login('not-the-token-at-all');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That token was refused.');
    const crossSite = await login(ConsoleToken, { origin: 'https://evil.example.com', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
  });

  it('signs in with the token: an HttpOnly SameSite session cookie, then back to the page asked for', async () => {
    const response = await login(ConsoleToken);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/teams/payments?severity=High');
    const setCookie = response.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^driftwatch_session=[^;]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Lax$/);
    cookie = setCookie.split(';')[0]!;
    expect((await get('/')).status).toBe(200);
  });

  it('serves every page with a strict Content-Security-Policy and no caching; assets are public and immutable', async () => {
    for (const path of ['/', '/teams/payments', `/findings/${await f.findingOf('bucket-flap')}`, '/rules/s3-bucket-public-read-prohibited', '/login']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-security-policy'), path).toBe(Csp);
      expect(response.headers.get('cache-control'), path).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const html = await response.text();
      // No inline script or style anywhere: only data blocks (type=application/json) and files from /assets.
      expect(html).not.toMatch(/<script(?![^>]*(type="application\/json"|src="\/assets\/))/);
      expect(html).not.toMatch(/ style=|<style/);
    }
    const asset = await fetch(`${f.base}/assets/uPlot.iife.min.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toContain('uPlot');
    expect((await fetch(`${f.base}/assets/..%2Fconsole-app.ts`)).status).toBe(404);
    const health = await fetch(`${f.base}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('organisation board: rate, open/overdue/excepted, severities, breakdowns and the live ranking', async () => {
    const html = await page('/');
    const figure = (name: string) => new RegExp(`data-figure="${name}">([^<]*)<`).exec(html)?.[1];
    // Open, not excepted: two Critical (one overdue), one High (the reopened one), two Medium (one 40 days old: overdue);
    // the identity team's High is excepted.
    expect([figure('open'), figure('overdue'), figure('excepted')]).toEqual(['5', '2', '1']);
    // Latest snapshot: payments 2/4 compliant, identity 1/3, ops 0/2 = 3/9.
    expect(figure('rate')).toBe('33.3 %');
    const severities = /<table class="data" id="by-severity">([\s\S]*?)<\/table>/.exec(html)![1]!;
    expect(severities.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')).toContain('Critical 2 1 0 High 1 0 1 Medium 2 1 0 Low 0 0 0');
    expect(html).toContain('<a href="/teams/payments">payments</a>');
    expect(html).toContain('<a href="/rules/s3-bucket-public-write-prohibited">S3 buckets do not allow public write</a>');
    const ranking = /<section class="ranking" id="ranking">([\s\S]*?)<\/section>/.exec(html)![1]!;
    expect(/id="ranking-highest">([\s\S]*?)<\/ol>/.exec(ranking)![1]).toMatch(/payments-prod[\s\S]*50\.0 %[\s\S]*identity-prod[\s\S]*33\.3 %/);
    expect(/id="ranking-improvers">([\s\S]*?)<\/ol>/.exec(ranking)![1]).toMatch(/payments-prod[\s\S]*\+50 points[\s\S]*identity-prod[\s\S]*\+33\.33 points/);
    // The trend: last month's baseline is outside the last two days; yesterday and today are drawn.
    const trend = JSON.parse(/<script type="application\/json" id="trend-data">([^<]*)<\/script>/.exec(html)![1]!);
    expect(trend.kind).toBe('trend');
    expect(trend.y.slice(-1)).toEqual([33.33]);
  });

  it('team board: soonest deadline first, exception state, links out; filters narrow the table and have URLs', async () => {
    const payments = await page('/teams/payments');
    const rows = [...payments.matchAll(/<tr data-finding="([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toEqual([await f.findingOf('bucket-critical'), await f.findingOf('bucket-flap')]);
    expect(payments).toContain('overdue by 2 d');
    expect(payments).toContain('href="https://us-east-1.console.aws.amazon.com/config/home?region=us-east-1#/resources/details?resourceId=bucket-critical&amp;resourceType=AWS%3A%3AS3%3A%3ABucket"');
    expect(payments).toContain('href="https://wiki.example.com/runbooks/s3-bucket-public-write-prohibited"');
    const high = await page('/teams/payments?severity=High');
    expect([...high.matchAll(/<tr data-finding="([^"]+)">/g)].map((m) => m[1])).toEqual([await f.findingOf('bucket-flap')]);
    expect(high).toContain('<option value="High" selected>');
    expect(await page(`/teams/payments?account=${Accounts.identity}`)).toContain('No open findings match.');
    const identity = await page('/teams/identity');
    expect(identity).toMatch(/excepted until <time[^>]*>[^<]*<\/time><\/span><br><span class="muted">by alice@example.com<\/span>/);
    expect((await get('/teams/payments?severity=Urgent')).status).toBe(400);
    expect((await get('/teams/payments?page=0')).status).toBe(400);
  });

  it('finding page: the key\'s timeline (opened, resolved, reopened), escalation, exception history, Slack message, event log', async () => {
    const flap = await page(`/findings/${await f.findingOf('bucket-flap')}`);
    const timeline = /<ol class="timeline" id="timeline">([\s\S]*?)<\/ol>/.exec(flap)![1]!;
    expect([...timeline.matchAll(/class="what what-(\w+)"/g)].map((m) => m[1])).toEqual(['opened', 'resolved', 'reopened']);
    expect(timeline).toContain('this finding');
    expect(flap).toContain('#payments-alerts');
    const log = /<table class="data" id="event-log">([\s\S]*?)<\/table>/.exec(flap)![1]!;
    expect([...log.matchAll(/<td>(NON_COMPLIANT|COMPLIANT)<\/td>/g)].map((m) => m[1])).toEqual(['NON_COMPLIANT', 'COMPLIANT', 'NON_COMPLIANT']);

    const critical = await page(`/findings/${await f.findingOf('bucket-critical')}`);
    expect(/<table class="data" id="escalations">([\s\S]*?)<\/table>/.exec(critical)![1]).toMatch(/escalated to security<\/td><td>#security/);
    const slack = /<table class="data" id="slack">([\s\S]*?)<\/table>/.exec(critical)![1]!;
    expect(slack).toContain('#payments-alerts');
    expect(slack).toContain('#security');
    expect(slack).toMatch(/ts \d+\.\d+/);

    const accepted = await page(`/findings/${await f.findingOf('bucket-accepted')}`);
    const exceptions = /<table class="data" id="exceptions">([\s\S]*?)<\/table>/.exec(accepted)![1]!;
    expect(exceptions).toContain('<span class="tag">applies</span>');
    expect(exceptions).toContain('Public website bucket, reviewed &lt;b&gt;by&lt;/b&gt; security');
    expect(exceptions).toMatch(/created by alice@example.com/);
    expect((await get('/findings/no-such-finding')).status).toBe(404);
  });

  it('rule page: the catalog entry and where the rule is non-compliant now', async () => {
    const html = await page('/rules/s3-bucket-public-write-prohibited');
    expect(html).toContain('S3 buckets do not allow public write');
    const facts = /<table class="facts" id="rule-facts">([\s\S]*?)<\/table>/.exec(html)![1]!;
    expect(facts).toContain('Critical');
    expect(facts).toContain('every account');
    expect(facts).toContain('href="https://wiki.example.com/runbooks/s3-bucket-public-write-prohibited"');
    const accounts = /<table class="data" id="rule-by-account">([\s\S]*?)<\/table>/.exec(html)![1]!;
    expect(accounts).toContain(Accounts.payments);
    expect(accounts).toContain(Accounts.ops);
    expect([...html.matchAll(/<tr data-finding="([^"]+)">/g)]).toHaveLength(2);
    expect((await get('/rules/no-such-rule')).status).toBe(404);
  });

  it('renders hostile resource ids, annotations, account names and team names as text', async () => {
    const ops = await page(`/teams/${encodeURIComponent('ops <!here>')}`);
    const finding = await page(`/findings/${await f.findingOf(Hostile.scriptId)}`);
    const board = await page('/');
    for (const html of [ops, finding, board]) {
      expect(html).not.toContain('<script>window.__pwned');
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<!channel>');
      expect(html).not.toContain('<!here>');
    }
    expect(ops).toContain('&lt;script&gt;window.__pwned = 1; alert(&quot;resource&quot;)&lt;/script&gt;');
    expect(ops).toContain('&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned = 2; alert(2)&quot;&gt; &lt;!channel&gt;');
    expect(finding).toContain('<span id="annotation">&lt;/script&gt;&lt;script&gt;alert(&quot;annotation&quot;)&lt;/script&gt;&lt;!channel&gt;');
    expect(board).toContain('ops &lt;!channel&gt; &amp; &lt;@U0BADBAD&gt;');
  });

  it('accepts the ALB\'s signed identity header and refuses a forged or expired one', async () => {
    const saved = cookie;
    cookie = '';
    try {
      const ok = await get('/', { 'x-amzn-oidc-data': f.albHeader({ email: 'operator@example.com' }) });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('<span title="signed in">operator@example.com</span>');
      const forged = await get('/', { 'x-amzn-oidc-data': f.albHeader({ email: 'admin@example.com' }, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }) });
      expect(forged.status).toBe(401);
      const expired = await get('/', { 'x-amzn-oidc-data': f.albHeader({}, { exp: Math.floor(Date.now() / 1_000) - 600 }) });
      expect(expired.status).toBe(401);
      // A forged header is refused even with a valid session: it is never silently ignored.
      cookie = saved;
      expect((await get('/', { 'x-amzn-oidc-data': 'e30.e30.AAAA' })).status).toBe(401);
    } finally {
      cookie = saved;
    }
  });

  it('signs out (the cookie is cleared)', async () => {
    const response = await fetch(`${f.base}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: f.base, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toMatch(/^driftwatch_session=; Max-Age=0; Path=\//);
  });

  it('throttles an address that keeps trying wrong tokens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await login(`wrong-token-${i}`)).status);
    // One wrong try earlier in this file: the tenth in the window is the last one judged, then 429 even for the token.
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.slice(9)).toEqual([429, 429]);
    expect((await login(ConsoleToken)).status).toBe(429);
  });
});
