import { generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import pino from 'pino';
import { ConsoleServer } from '../../pipeline/console/console-server.ts';
import { ConsoleSettings } from '../../pipeline/console/console-settings.ts';
import { Escalator } from '../../pipeline/escalation/escalator.ts';
import { ExceptionStore } from '../../pipeline/exceptions/exception-store.ts';
import { takeComplianceSnapshot } from '../../pipeline/report/compliance-snapshot.ts';
import type { ComplianceType } from '../../schemas/compliance-change-event.ts';
import { complianceEvent } from '../support/events.ts';
import { nextEventId, Rules, SlackHarness } from '../notify/slack/slack-harness.ts';

export const ConsoleToken = 'console-test-token-5b1e0c7d9a';
export const AlbArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/driftwatch-console/50dc6c495c0c9188';

/** Hostile values that reach the console from events and the account registry: each must show as text, run nothing. */
export const Hostile = {
  scriptId: '<script>window.__pwned = 1; alert("resource")</script>',
  imgId: '"><img src=x onerror="window.__pwned = 2; alert(2)"> <!channel>',
  annotation: '</script><script>alert("annotation")</script><!channel> "><img src=y onerror=alert(3)>',
} as const;

export const Accounts = {
  payments: '111111111111',
  identity: '222222222222',
  ops: '555555555555',
} as const;

const H = 3_600_000;
const D = 24 * H;

export interface ConsoleFixture {
  readonly harness: SlackHarness;
  readonly server: ConsoleServer;
  readonly base: string;
  /** Signs ALB identity headers the console accepts (same key as the file it was given). */
  albHeader(claims: Record<string, unknown>, options?: { key?: KeyObject; signer?: string; exp?: number }): string;
  /** Finding ids by resource id (newest episode). */
  findingOf(resourceId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A small organisation run through the real pipeline (SlackHarness: processor, state sink, outbox, the local Slack
 * server, the notifier), then the SLA jobs (escalation, a risk exception, compliance snapshots), then the console on
 * it. Nothing is inserted by hand: every row the console shows was written by driftwatch's own code.
 */
export async function startConsoleFixture(options: { env?: Record<string, string>; afterProcessing?: (harness: SlackHarness) => Promise<void> } = {}): Promise<ConsoleFixture> {
  const harness = await SlackHarness.start(options.env ? { env: options.env } : {});
  try {
    // OpenSearch templates first, when the test gives OPENSEARCH_URL (the finding page's event log).
    for (const hook of harness.runtime.migrationHooks) await hook();
    const now = Date.now();
    const event = (resourceId: string, compliance: ComplianceType, at: number, account: string, rule: string, extra: { annotation?: string; resourceType?: string } = {}) =>
      complianceEvent({ id: nextEventId(), resourceId, compliance, at, account, configRuleName: rule, ...extra });
    const sla = harness.runtime.sla;

    // Last month: mostly non-compliant, so this month shows improvement; its last day's snapshot is the baseline.
    await harness.process([
      event('bucket-old-1', 'NON_COMPLIANT', now - 40 * D, Accounts.payments, Rules.medium),
      event('bucket-old-2', 'NON_COMPLIANT', now - 40 * D, Accounts.payments, Rules.medium),
      event('bucket-old-3', 'NON_COMPLIANT', now - 40 * D, Accounts.identity, Rules.medium),
    ]);
    const lastMonthEnd = DateTime.fromMillis(now, { zone: sla.timezone }).startOf('month').minus({ days: 1 });
    await takeComplianceSnapshot(harness.database.db, lastMonthEnd.toISODate()!, lastMonthEnd.toMillis());

    await harness.process([
      event('bucket-old-1', 'COMPLIANT', now - 20 * D, Accounts.payments, Rules.medium),
      event('bucket-old-2', 'COMPLIANT', now - 20 * D, Accounts.payments, Rules.medium),
      // Critical, opened three days ago: overdue, escalated below.
      event('bucket-critical', 'NON_COMPLIANT', now - 3 * D, Accounts.payments, Rules.critical),
      // One resource that flapped: opened, resolved, reopened.
      event('bucket-flap', 'NON_COMPLIANT', now - 5 * H, Accounts.payments, Rules.high),
      event('bucket-flap', 'COMPLIANT', now - 4 * H, Accounts.payments, Rules.high),
      event('bucket-flap', 'NON_COMPLIANT', now - 3 * H, Accounts.payments, Rules.high),
      // High in identity: excepted below.
      event('bucket-accepted', 'NON_COMPLIANT', now - 2 * H, Accounts.identity, Rules.high),
      event('bucket-fine', 'COMPLIANT', now - 2 * H, Accounts.identity, Rules.critical),
      // Hostile values in resource ids and annotations (an account whose name and owner are hostile too).
      event(Hostile.scriptId, 'NON_COMPLIANT', now - 1 * H, Accounts.ops, Rules.critical, { annotation: Hostile.annotation }),
      event(Hostile.imgId, 'NON_COMPLIANT', now - 1 * H, Accounts.ops, Rules.medium, { annotation: Hostile.annotation }),
    ]);
    await options.afterProcessing?.(harness);
    await new ExceptionStore(harness.database.db, harness.clock).add({
      rule: 's3-bucket-public-read-prohibited',
      accountId: Accounts.identity,
      until: now + 30 * D,
      reason: 'Public website bucket, reviewed <b>by</b> security',
      by: 'alice@example.com',
    });
    await new Escalator({ db: harness.database.db, sla, securityChannel: '#security' }).escalateDue(now, new AbortController().signal);
    await harness.drainUntilSettled(harness.notifier());
    const yesterday = now - D;
    // On the first day of a month yesterday IS last month's end: its snapshot stays the baseline taken above.
    if (sla.localDate(yesterday) > lastMonthEnd.toISODate()!) await takeComplianceSnapshot(harness.database.db, sla.localDate(yesterday), yesterday);
    await takeComplianceSnapshot(harness.database.db, sla.localDate(now), now);

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const dir = await mkdtemp(join(tmpdir(), 'dw-console-'));
    const keyFile = join(dir, 'alb-key.pem');
    await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    const server = await ConsoleServer.create({
      runtime: harness.runtime,
      settings: ConsoleSettings.parse({ DRIFTWATCH_CONSOLE_TOKEN: ConsoleToken, DRIFTWATCH_CONSOLE_ALB_ARN: AlbArn, DRIFTWATCH_CONSOLE_ALB_KEY_FILE: keyFile }),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await server.listen();
    return {
      harness,
      server,
      base: server.url.replace(/\/$/, ''),
      albHeader: (claims, o = {}) => albToken(o.key ?? privateKey, { signer: o.signer ?? AlbArn, exp: o.exp ?? Math.floor(Date.now() / 1_000) + 120 }, claims),
      findingOf: async (resourceId) =>
        (await harness.database.db.selectFrom('findings').select('finding_id').where('resource_id', '=', resourceId).orderBy('opened_at', 'desc').executeTakeFirstOrThrow()).finding_id,
      close: async () => {
        await server.close();
        await harness.close();
      },
    };
  } catch (error) {
    await harness.close();
    throw error;
  }
}

/**
 * An identity header as an ALB writes it: ES256 over `header.payload`, base64url parts WITH `=` padding (ALBs pad;
 * generic JWT libraries refuse that), the signer ARN and key id in the header.
 */
export function albToken(key: KeyObject, header: { signer: string; exp: number; kid?: string; alg?: string }, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
  const toUrl = (b64: string) => b64.replaceAll('+', '-').replaceAll('/', '_');
  const head = toUrl(part({ typ: 'JWT', kid: header.kid ?? '0e7f2a6b-7d3c-4f1e-9a52-6c1b2d3e4f50', alg: header.alg ?? 'ES256', iss: 'https://idp.example.com', client: 'console', signer: header.signer, exp: header.exp }));
  const body = toUrl(part({ sub: 'user-123', email: 'operator@example.com', exp: header.exp, iss: 'https://idp.example.com', ...claims }));
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${toUrl(signature.toString('base64'))}`;
}
