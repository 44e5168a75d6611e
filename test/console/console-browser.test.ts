import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleToken, Hostile, startConsoleFixture } from './console-fixture.ts';
import type { ConsoleFixture } from './console-fixture.ts';

/** Screenshots of every page land here (gitignored), for people to look at after a run. */
const Artifacts = join(import.meta.dirname, '../../test-results/console');
const Chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The console in a real headless Chromium (Debian's, driven by playwright-core): sign-in, the click path people take,
 * filters, charts, and hostile values that must stay text. Every page is watched for dialogs, script errors, console
 * errors (a Content-Security-Policy violation is one) and requests that leave the console.
 */
describe('web console in a real browser', () => {
  let f: ConsoleFixture;
  let browser: Browser;
  const dialogs: string[] = [];
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    await mkdir(Artifacts, { recursive: true });
    f = await startConsoleFixture();
    browser = await chromium.launch({
      executablePath: Chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  async function newPage(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('request', (request) => requests.push(request.url()));
    return { context, page };
  }

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${f.base}/`);
    await page.fill('#token', ConsoleToken);
    await Promise.all([page.waitForURL(`${f.base}/`), page.click('section.login button[type=submit]')]);
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(Artifacts, `${name}.png`), fullPage: true });

  it('shows the login page without a session, refuses a wrong token, signs in with the right one', async () => {
    const { context, page } = await newPage();
    await page.goto(`${f.base}/teams/payments`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in to the compliance console');
    await page.fill('#token', 'a-wrong-token-of-some-length');
    const refused = page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST');
    await page.click('section.login button[type=submit]');
    expect((await refused).status()).toBe(401);
    await expect(page.locator('[role=alert]').textContent()).resolves.toBe('That token was refused.');
    await shot(page, '01-login-refused');
    expect(await context.cookies()).toEqual([]);
    await page.fill('#token', ConsoleToken);
    await Promise.all([page.waitForURL(`${f.base}/teams/payments`), page.click('section.login button[type=submit]')]);
    const [session] = await context.cookies();
    expect(session).toMatchObject({ name: 'driftwatch_session', httpOnly: true, sameSite: 'Lax' });
    // HttpOnly: scripts in the page cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('');
    await context.close();
  });

  it('organisation board -> team -> finding -> rule, charts drawn by uPlot', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.waitForSelector('[data-chart="trend"][data-drawn] canvas');
    await page.waitForSelector('[data-chart="severity-mix"][data-drawn] canvas');
    await expect(page.locator('[data-figure="open"]').textContent()).resolves.toBe('5');
    await shot(page, '02-organisation');

    await Promise.all([page.waitForURL(`${f.base}/teams/payments`), page.click('#by-team a:text-is("payments")')]);
    await expect(page.locator('#team-findings tbody tr').count()).resolves.toBe(2);
    await page.waitForSelector('[data-chart="team-severity"][data-drawn] canvas');
    await shot(page, '03-team-payments');

    const flap = await f.findingOf('bucket-flap');
    await Promise.all([page.waitForURL(`${f.base}/findings/${flap}`), page.click(`tr[data-finding="${flap}"] a.resource`)]);
    await expect(page.locator('#timeline li .what').allTextContents()).resolves.toEqual(['opened', 'resolved', 'reopened']);
    await shot(page, '04-finding');

    await Promise.all([page.waitForURL(`${f.base}/rules/s3-bucket-public-read-prohibited`), page.click('#finding-facts a[href^="/rules/"]')]);
    await expect(page.locator('h1').textContent()).resolves.toContain('S3 buckets do not allow public read');
    await page.waitForSelector('[data-chart="rule-trend"][data-drawn] canvas');
    await shot(page, '05-rule');
    await context.close();
  });

  it('filters change the table and the URL (on change with JavaScript, with the Apply button without)', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${f.base}/teams/payments`);
    await Promise.all([page.waitForURL(/severity=High/), page.selectOption('select[name=severity]', 'High')]);
    expect(new URL(page.url()).search).toBe('?account=&rule=&severity=High');
    const severities = await page.locator('#team-findings tbody tr td:nth-child(2)').allTextContents();
    expect(severities).toEqual(['High']);
    await shot(page, '06-team-filtered');
    // The URL is shareable: a fresh page opened on it shows the same table.
    const shared = await context.newPage();
    await shared.goto(page.url());
    await expect(shared.locator('#team-findings tbody tr').count()).resolves.toBe(1);
    await context.close();

    const noScript = await newPage({ javaScriptEnabled: false });
    await signIn(noScript.page);
    await noScript.page.goto(`${f.base}/teams/payments`);
    await noScript.page.selectOption('select[name=severity]', 'Critical');
    await Promise.all([noScript.page.waitForURL(/severity=Critical/), noScript.page.click('form.filters button[type=submit]')]);
    await expect(noScript.page.locator('#team-findings tbody tr td:nth-child(2)').allTextContents()).resolves.toEqual(['Critical']);
    // Without JavaScript the charts' numbers are still there, as tables.
    await expect(noScript.page.locator('#by-severity tbody tr').count()).resolves.toBe(4);
    await noScript.context.close();
  });

  it('renders hostile resource ids, annotations, account and team names as text, and runs none of them', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    const ops = `${f.base}/teams/${encodeURIComponent('ops <!here>')}`;
    await page.goto(ops);
    await expect(page.locator('h1').textContent()).resolves.toBe('Team ops <!here>');
    const resources = await page.locator('#team-findings a.resource .mono').allTextContents();
    expect(resources.sort()).toEqual([Hostile.imgId, Hostile.scriptId].sort());
    await shot(page, '07-hostile-team');
    for (const id of [Hostile.scriptId, Hostile.imgId]) {
      await page.goto(`${f.base}/findings/${await f.findingOf(id)}`);
      await expect(page.locator('#resource-id').textContent()).resolves.toBe(id);
      await expect(page.locator('#annotation').textContent()).resolves.toBe(Hostile.annotation);
    }
    await shot(page, '08-hostile-finding');
    await page.goto(`${f.base}/`);
    await expect(page.locator('#by-account').textContent()).resolves.toContain('ops <!channel> & <@U0BADBAD>');
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('main img, main script:not([type="application/json"])').count()).toBe(0);
    await context.close();
  });

  it('saw no dialog, no script error, no console error (CSP violations included), no request leaving the console', () => {
    expect(dialogs).toEqual([]);
    // Expected: the one refused sign-in (401) of the first test; Chromium's own advice about password forms.
    expect(problems.filter((p) => !p.includes('[DOM] Password forms') && !p.includes('status of 401 (Unauthorized)'))).toEqual([]);
    expect(problems.filter((p) => p.includes('status of 401'))).toHaveLength(1);
    const allowed = /^\/(|login|logout|favicon\.ico|teams\/[^/]+|findings\/[^/]+|rules\/[^/]+|assets\/(console\.css|console\.js|uPlot\.min\.css|uPlot\.iife\.min\.js))$/;
    const strays = requests.filter((url) => !url.startsWith(`${f.base}/`) || !allowed.test(new URL(url).pathname));
    expect(strays).toEqual([]);
    expect(requests.length).toBeGreaterThan(20);
  });
});
