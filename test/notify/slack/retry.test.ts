import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideRetry, outcomeOf } from '../../../pipeline/notify/slack/retry.ts';
import type { RetryDecision, SlackCallOutcome } from '../../../pipeline/notify/slack/retry.ts';
import { SlackServer } from '../../slack-server/slack-server.ts';

describe('decideRetry (pure): Slack outcome -> ok / retry-after / backoff / pause / reject', () => {
  const cases: readonly [string, SlackCallOutcome, RetryDecision][] = [
    ['success', { kind: 'ok' }, { action: 'ok' }],
    ['429 with Retry-After', { kind: 'rate-limited', retryAfterSeconds: 7 }, { action: 'retry-after', delayMs: 7_000 }],
    ['429 with Retry-After 0', { kind: 'rate-limited', retryAfterSeconds: 0 }, { action: 'retry-after', delayMs: 0 }],
    ['429 without Retry-After', { kind: 'rate-limited', retryAfterSeconds: null }, { action: 'retry-after', delayMs: 1_000 }],
    ['HTTP 429 surfaced as HTTP error', { kind: 'http-error', status: 429 }, { action: 'retry-after', delayMs: 1_000 }],
    ['HTTP 500: may have posted', { kind: 'http-error', status: 500 }, { action: 'backoff', reason: 'http 500', maybeDelivered: true }],
    ['HTTP 503', { kind: 'http-error', status: 503 }, { action: 'backoff', reason: 'http 503', maybeDelivered: true }],
    ['HTTP 401: token problem', { kind: 'http-error', status: 401 }, { action: 'pause', reason: 'http 401' }],
    ['HTTP 403', { kind: 'http-error', status: 403 }, { action: 'pause', reason: 'http 403' }],
    ['HTTP 400', { kind: 'http-error', status: 400 }, { action: 'reject', reason: 'http 400' }],
    ['HTTP 413', { kind: 'http-error', status: 413 }, { action: 'reject', reason: 'http 413' }],
    ['HTTP 408', { kind: 'http-error', status: 408 }, { action: 'backoff', reason: 'http 408', maybeDelivered: true }],
    ['HTTP 409', { kind: 'http-error', status: 409 }, { action: 'backoff', reason: 'http 409', maybeDelivered: false }],
    ['network error: may have posted', { kind: 'request-error', detail: 'ECONNRESET' }, { action: 'backoff', reason: 'ECONNRESET', maybeDelivered: true }],
    ['timeout', { kind: 'request-error', detail: 'timeout' }, { action: 'backoff', reason: 'timeout', maybeDelivered: true }],
    ['platform ratelimited', { kind: 'platform-error', error: 'ratelimited' }, { action: 'retry-after', delayMs: 1_000 }],
    ['platform internal_error', { kind: 'platform-error', error: 'internal_error' }, { action: 'backoff', reason: 'internal_error', maybeDelivered: false }],
    ['platform service_unavailable', { kind: 'platform-error', error: 'service_unavailable' }, { action: 'backoff', reason: 'service_unavailable', maybeDelivered: false }],
    ['invalid_auth', { kind: 'platform-error', error: 'invalid_auth' }, { action: 'pause', reason: 'invalid_auth' }],
    ['token_revoked', { kind: 'platform-error', error: 'token_revoked' }, { action: 'pause', reason: 'token_revoked' }],
    ['missing_scope', { kind: 'platform-error', error: 'missing_scope' }, { action: 'pause', reason: 'missing_scope' }],
    ['channel_not_found', { kind: 'platform-error', error: 'channel_not_found' }, { action: 'reject', reason: 'channel_not_found' }],
    ['not_in_channel', { kind: 'platform-error', error: 'not_in_channel' }, { action: 'reject', reason: 'not_in_channel' }],
    ['invalid_blocks', { kind: 'platform-error', error: 'invalid_blocks' }, { action: 'reject', reason: 'invalid_blocks' }],
    ['msg_too_long', { kind: 'platform-error', error: 'msg_too_long' }, { action: 'reject', reason: 'msg_too_long' }],
    ['message_not_found (update)', { kind: 'platform-error', error: 'message_not_found' }, { action: 'reject', reason: 'message_not_found' }],
  ];
  it.each(cases)('%s', (_name, outcome, expected) => {
    expect(decideRetry(outcome)).toEqual(expected);
  });
});

describe('outcomeOf maps what the real WebClient throws (against the local Slack server)', () => {
  let slack: SlackServer;
  let client: WebClient;
  beforeAll(async () => {
    slack = await SlackServer.start({ token: 'xoxb-retry-test', retryAfterSeconds: 3 });
    client = new WebClient('xoxb-retry-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR, timeout: 300 });
  });
  afterAll(async () => slack?.close());

  const failure = async (): Promise<unknown> => client.chat.postMessage({ channel: 'alerts', text: 'x' }).then(() => new Error('expected a failure'), (e: unknown) => e);

  it.each([
    ['429 + Retry-After', () => slack.failNext(1, 429, { retryAfterSeconds: 3 }), { kind: 'rate-limited', retryAfterSeconds: 3 }],
    ['HTTP 500', () => slack.failNext(1, 500), { kind: 'http-error', status: 500 }],
    ['HTTP 503', () => slack.failNext(1, 503), { kind: 'http-error', status: 503 }],
    ['connection reset', () => slack.failNext(1, 'reset'), { kind: 'request-error' }],
    ['hung request (client timeout)', () => slack.failNext(1, 'hang'), { kind: 'request-error', detail: 'timeout' }],
  ] as const)('%s', async (_name, arrange, expected) => {
    arrange();
    expect(outcomeOf(await failure())).toMatchObject(expected);
  });

  it('platform errors keep their Slack error code', async () => {
    const error = await client.chat.update({ channel: 'alerts', ts: '1.000100', text: 'x' }).then(() => null, (e: unknown) => e);
    expect(outcomeOf(error)).toEqual({ kind: 'platform-error', error: 'message_not_found' });
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: slack.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    expect(outcomeOf(await bad.auth.test().then(() => null, (e: unknown) => e))).toEqual({ kind: 'platform-error', error: 'invalid_auth' });
  });
});
