import { Hono } from 'hono';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { secureHeaders } from 'hono/secure-headers';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { Database } from '../store/database-schema.ts';
import { AlbIdentityError } from './auth/alb-identity.ts';
import type { AlbIdentityVerifier } from './auth/alb-identity.ts';
import { LoginThrottle } from './auth/login-throttle.ts';
import type { SessionCookies } from './auth/session-cookie.ts';
import type { ConsoleAssets } from './console-assets.ts';
import type { EventLogReader, EventLogEntry } from './event-log.ts';
import { firstUnsettledDay, SettledTrendCache } from './queries/compliance-trend.ts';
import { Severities } from './queries/console-database.ts';
import { loadFindingPage } from './queries/finding-page.ts';
import { loadOrganisationBoard } from './queries/organisation-board.ts';
import { loadRulePage } from './queries/rule-page.ts';
import { loadTeamBoard } from './queries/team-board.ts';
import type { TeamFilters } from './queries/team-board.ts';
import { ConsoleLinks } from './views/console-links.ts';
import { findingView } from './views/finding-view.ts';
import { DisplayFormat, paths } from './views/format.ts';
import type { Html } from './views/format.ts';
import { layout, loginPage, messagePage } from './views/layout.ts';
import { organisationView } from './views/organisation-view.ts';
import { ruleView } from './views/rule-view.ts';
import type { ViewContext } from './views/tables.ts';
import { teamView } from './views/team-view.ts';

export interface ConsoleAuth {
  /** Token login (DRIFTWATCH_CONSOLE_TOKEN); null when only the ALB signs people in. */
  readonly sessions: SessionCookies | null;
  /** The ALB's signed identity header (DRIFTWATCH_CONSOLE_ALB_*); null without an ALB. */
  readonly alb: AlbIdentityVerifier | null;
  readonly secureCookie: boolean;
}

export interface ConsoleAppOptions {
  readonly db: Kysely<Database>;
  readonly catalog: RuleCatalog;
  readonly accounts: AccountRegistry;
  /** The SLA calendar's timezone: snapshot days and the dates people read. */
  readonly timezone: string;
  readonly runbookBaseUrl?: string;
  readonly auth: ConsoleAuth;
  readonly assets: ConsoleAssets;
  readonly logger: Logger;
  readonly eventLog?: EventLogReader | null;
  readonly now?: () => number;
}

interface Identity {
  readonly user: string;
  readonly canSignOut: boolean;
}

type Env = { Variables: { identity: Identity } };

export const SessionCookieName = 'driftwatch_session';
export const AlbHeader = 'x-amzn-oidc-data';
const TrendDays = 90;
const PageSize = 100;

/**
 * The console's HTTP application: read-only pages rendered on the server from the state store. Every page needs an
 * identity (token session or ALB header); every response carries a Content-Security-Policy that allows scripts and
 * styles from the console itself only, so a value that slipped through escaping still could not run.
 */
export function createConsoleApp(o: ConsoleAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const now = o.now ?? Date.now;
  const format = new DisplayFormat(o.timezone);
  const links = new ConsoleLinks(o.catalog, o.runbookBaseUrl);
  const throttle = new LoginThrottle({ failures: 10, windowMs: 60_000 });
  const trendCache = new SettledTrendCache();
  const logger = o.logger;
  const accountName = (id: string) => {
    const found = o.accounts.lookup(id);
    return found.known ? found.account.name : undefined;
  };
  const view = (): ViewContext => ({ now: now(), format, links });
  const badRequest = (c: Context<Env>, message: string) =>
    c.html(messagePage(o.assets.paths, c.get('identity').user, 'Bad request', message), 400);
  const page = (c: Context<Env>, title: string, body: Html, breadcrumbs: { label: string; href: string }[] = [], status: 200 | 404 = 200) => {
    const identity = c.get('identity');
    return c.html(layout({ title, identity: identity.user, canSignOut: identity.canSignOut, assets: o.assets.paths, breadcrumbs }, body), status);
  };

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
    }),
  );
  app.use('*', async (c, next) => {
    await next();
    // Pages show security findings: no shared or browser cache keeps them (assets set their own caching).
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
  });
  app.onError((error, c) => {
    // Refusals of the framework's own middleware (csrf: 403, body limit) keep their status.
    if (error instanceof HTTPException) return error.getResponse();
    logger.error({ err: error, path: c.req.path }, 'console request failed');
    return c.html(messagePage(o.assets.paths, null, 'Something went wrong', 'The console could not read the state store. The error is in the log.'), 500);
  });
  app.notFound((c) => c.html(messagePage(o.assets.paths, null, 'Not found', 'There is no such page.'), 404));

  // Public: the static files (no data in them) and a health check for load balancers (which carry no identity).
  app.get('/assets/:file', (c) => {
    const asset = o.assets.get(c.req.param('file'));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' });
  });
  // Browsers ask for it on every first visit; no icon, and no 404 in their consoles.
  app.get('/favicon.ico', (c) => c.body(null, 204, { 'cache-control': 'public, max-age=86400' }));
  app.get('/healthz', async (c) => {
    await o.db.selectFrom('findings').select('finding_id').limit(1).execute();
    return c.json({ status: 'ok' });
  });

  // Sign-in: only meaningful with a token. Cross-site form posts are refused (Origin / Sec-Fetch-Site).
  app.use('/login', csrf(), bodyLimit({ maxSize: 8_192, onError: (c) => c.text('request too large', 413) }));
  app.use('/logout', csrf());
  app.get('/login', (c) => {
    if (!o.auth.sessions) return c.html(messagePage(o.assets.paths, null, 'Sign in', 'This console signs people in through the load balancer (OIDC).'), 404);
    return c.html(loginPage(o.assets.paths, safeNext(c.req.query('next')), null));
  });
  app.post('/login', async (c) => {
    const sessions = o.auth.sessions;
    if (!sessions) return c.notFound();
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const client = clientAddress(c);
    if (throttle.blocked(client, now())) {
      return c.html(loginPage(o.assets.paths, next, 'Too many wrong tokens from this address: wait a minute.'), 429);
    }
    const token = typeof form.token === 'string' ? form.token : '';
    if (!sessions.tokenMatches(token)) {
      throttle.failed(client, now());
      logger.warn({ client }, 'console sign-in refused');
      return c.html(loginPage(o.assets.paths, next, 'That token was refused.'), 401);
    }
    setCookie(c, SessionCookieName, sessions.issue(now()), {
      httpOnly: true,
      sameSite: 'Lax',
      secure: o.auth.secureCookie,
      path: '/',
      maxAge: Math.floor(sessions.lifetimeMs / 1_000),
    });
    return c.redirect(next, 303);
  });
  app.post('/logout', (c) => {
    deleteCookie(c, SessionCookieName, { path: '/', secure: o.auth.secureCookie });
    return c.redirect('/login', 303);
  });

  // Everything else needs an identity.
  app.use('*', authenticate(o.auth, now, o.assets, logger));

  app.get('/', async (c) => {
    const board = await loadOrganisationBoard(o.db, {
      now: now(),
      timezone: o.timezone,
      trendDays: TrendDays,
      accountName,
      ruleTitle: (rule) => o.catalog.lookup(rule).rule.title,
      trendCache,
    });
    return page(c, 'Organisation', organisationView(board, view(), TrendDays));
  });

  app.get('/teams/:owner', async (c) => {
    const owner = c.req.param('owner');
    const filters = teamFilters(c);
    if (typeof filters === 'string') return badRequest(c, filters);
    const pageNumber = c.req.query('page') ?? '1';
    if (!/^[1-9]\d{0,4}$/.test(pageNumber)) return badRequest(c, 'page must be a whole number from 1 to 99999');
    const board = await loadTeamBoard(o.db, owner, filters, Number(pageNumber), PageSize, now());
    return page(c, `Team ${owner}`, teamView(board, view()), [{ label: `Team ${owner}`, href: paths.team(owner) }]);
  });

  app.get('/findings/:id', async (c) => {
    const found = await loadFindingPage(o.db, c.req.param('id'));
    if (!found) return page(c, 'Not found', notFound('No finding has this id.'), [], 404);
    const f = found.finding;
    let events: readonly EventLogEntry[] | string | null = null;
    if (o.eventLog) {
      events = await o.eventLog
        .events({ accountId: f.account_id, region: f.region, rule: f.rule, resourceType: f.resource_type, resourceId: f.resource_id }, 100)
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'console could not read the event log');
          return 'The event log in OpenSearch could not be read just now.';
        });
    }
    return page(c, f.rule_title, findingView(found, o.catalog.lookup(f.rule).rule, view(), events), [
      { label: `Team ${f.owner}`, href: paths.team(f.owner) },
      { label: 'Finding', href: paths.finding(f.finding_id) },
    ]);
  });

  app.get('/rules/:rule', async (c) => {
    const name = c.req.param('rule');
    const { rule, known } = o.catalog.lookup(name);
    const data = await loadRulePage(o.db, name, { now: now(), trendDays: TrendDays, limit: 200, accountName, trendCache, settledBefore: firstUnsettledDay(now(), o.timezone) });
    if (!known && data.byAccount.length === 0) return page(c, 'Not found', notFound('No rule of this name is in the catalog or in any finding.'), [], 404);
    return page(c, rule.title, ruleView(data, rule, known, view(), TrendDays), [{ label: `Rule ${name}`, href: paths.rule(name) }]);
  });

  return app;
}

function authenticate(auth: ConsoleAuth, now: () => number, assets: ConsoleAssets, logger: Logger): MiddlewareHandler<Env> {
  return async (c, next) => {
    const header = auth.alb ? c.req.header(AlbHeader) : undefined;
    if (auth.alb && header !== undefined) {
      try {
        const identity = await auth.alb.verify(header);
        c.set('identity', { user: identity.user, canSignOut: false });
        return next();
      } catch (error) {
        if (!(error instanceof AlbIdentityError)) throw error;
        // A header that does not verify is refused outright: falling back to a session would let a forged one probe.
        logger.warn({ reason: error.message }, 'console identity header refused');
        return c.html(messagePage(assets.paths, null, 'Not signed in', 'Your identity could not be verified.'), 401);
      }
    }
    if (auth.sessions?.valid(getCookie(c, SessionCookieName), now())) {
      c.set('identity', { user: 'token', canSignOut: true });
      return next();
    }
    if (auth.sessions) {
      const target = `${c.req.path}${new URL(c.req.url).search}`;
      return c.redirect(`/login?next=${encodeURIComponent(target)}`, 303);
    }
    return c.html(messagePage(assets.paths, null, 'Not signed in', 'Open the console through its load balancer to sign in.'), 401);
  };
}

function teamFilters(c: Context<Env>): TeamFilters | string {
  const account = c.req.query('account') || undefined;
  const rule = c.req.query('rule') || undefined;
  const severity = c.req.query('severity') || undefined;
  if (account !== undefined && account.length > 64) return 'account filter is too long';
  if (rule !== undefined && rule.length > 256) return 'rule filter is too long';
  if (severity !== undefined && !(Severities as readonly string[]).includes(severity)) return `severity must be one of ${Severities.join(', ')}`;
  return { ...(account ? { account } : {}), ...(rule ? { rule } : {}), ...(severity ? { severity } : {}) };
}

function notFound(message: string): Html {
  return html`<h1>Not found</h1><p>${message}</p><p><a href="/">Organisation board</a></p>`;
}

/** Where to go after signing in: a path on this console only (no `//host`, no scheme), else the organisation board. */
export function safeNext(next: string | undefined): string {
  if (!next || next.length > 2_000 || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/';
  return next;
}

function clientAddress(c: Context<Env>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
