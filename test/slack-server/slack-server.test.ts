import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  ErrorCode,
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  WebClientEvent,
  type WebClientOptions,
} from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackServer } from './slack-server.ts';
import type { SlackServerOptions } from './slack-server-types.ts';

const TOKEN = 'xoxb-test';
const FAST_RETRIES = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } as const;
const TS = /^\d{10}\.\d{6}$/;

const servers: SlackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A manually driven clock so rate limits and windows are deterministic. */
function manualClock(start = 1_700_000_000_000): { t: number; readonly now: () => number } {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

async function startServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  const server = await SlackServer.start({ token: TOKEN, ...options });
  servers.push(server);
  return server;
}

/** A WebClient aimed at the server; `token: null` makes an unauthenticated client. */
function clientFor(server: SlackServer, options: WebClientOptions = {}, token: string | null = TOKEN): WebClient {
  return new WebClient(token ?? undefined, { slackApiUrl: server.url, logLevel: LogLevel.ERROR, retryConfig: FAST_RETRIES, ...options });
}

async function platformError(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return (error as WebAPIPlatformError).data.error;
}

describe('SlackServer with the real @slack/web-api WebClient', () => {
  it('exposes a slackApiUrl-style url on 127.0.0.1 and an ephemeral port', async () => {
    const server = await startServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`${server.baseUrl}api/`);
  });

  it('answers auth.test for the configured token and rejects bad or missing tokens', async () => {
    const server = await startServer({ identity: { team: 'Acme', userId: 'U123' } });
    const res = await clientFor(server).auth.test();
    expect(res).toMatchObject({ ok: true, team: 'Acme', user_id: 'U123', team_id: 'T0000000001', bot_id: 'B0000000001' });
    expect(res.url).toBe('https://driftwatch-test.slack.com/');
    expect(res.response_metadata?.scopes).toContain('chat:write');

    expect(await platformError(clientFor(server, {}, 'xoxb-wrong').auth.test())).toBe('invalid_auth');
    expect(await platformError(clientFor(server, {}, null).auth.test())).toBe('not_authed');
    expect(server.calls.map((c) => [c.method, c.status, c.error])).toEqual([
      ['auth.test', 200, undefined],
      ['auth.test', 200, 'invalid_auth'],
      ['auth.test', 200, 'not_authed'],
    ]);
  });

  it('posts, threads, updates and reads back messages', async () => {
    const server = await startServer();
    const client = clientFor(server);

    const root = await client.chat.postMessage({ channel: '#alerts', text: 'drift found', unfurl_links: false });
    expect(root.channel).toMatch(/^C\d{9}$/);
    expect(root.ts).toMatch(TS);
    expect(root.message?.text).toBe('drift found');
    const channel = root.channel ?? '';
    const rootTs = root.ts ?? '';

    const reply1 = await client.chat.postMessage({ channel: 'alerts', text: 'detail 1', thread_ts: rootTs });
    const reply2 = await client.chat.postMessage({ channel, text: 'detail 2', thread_ts: rootTs });
    expect(reply1.channel).toBe(channel);
    expect(Number(reply2.ts)).toBeGreaterThan(Number(reply1.ts));
    expect(Number(reply1.ts)).toBeGreaterThan(Number(rootTs));

    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*resolved*' } }];
    const updated = await client.chat.update({ channel, ts: rootTs, text: 'drift resolved', blocks });
    expect(updated).toMatchObject({ ok: true, channel, ts: rootTs, text: 'drift resolved' });
    expect(updated.message?.edited?.ts).toMatch(TS);

    const replies = await client.conversations.replies({ channel, ts: rootTs });
    expect(replies.messages?.map((m) => m.text)).toEqual(['drift resolved', 'detail 1', 'detail 2']);
    expect(replies.messages?.[0]?.reply_count).toBe(2);
    expect(replies.messages?.[1]?.thread_ts).toBe(rootTs);

    const history = await client.conversations.history({ channel: 'alerts' });
    expect(history.messages?.map((m) => m.ts)).toEqual([rootTs]);

    const link = await client.chat.getPermalink({ channel, message_ts: reply1.ts ?? '' });
    expect(link.permalink).toBe(
      `https://driftwatch-test.slack.com/archives/${channel}/p${(reply1.ts ?? '').replace('.', '')}?thread_ts=${rootTs}&cid=${channel}`,
    );

    const [recordedRoot, ...recordedReplies] = server.messages('alerts');
    expect(recordedReplies.map((m) => m.thread_ts)).toEqual([rootTs, rootTs]);
    expect(recordedRoot).toMatchObject({ channel, channelName: 'alerts', ts: rootTs, text: 'drift resolved', blocks });
    expect(recordedRoot?.original).toEqual({ text: 'drift found' });
    expect(recordedRoot?.edits).toHaveLength(1);
    expect(recordedRoot?.edits[0]).toMatchObject({ text: 'drift resolved', blocks });
    expect(recordedRoot?.params.unfurl_links).toBe(false);
    expect(server.messages(channel)).toHaveLength(3);
    expect(server.messages('#elsewhere')).toEqual([]);
  });

  it('validates arguments like Slack', async () => {
    const server = await startServer({ channels: ['alerts', { id: 'C0KNOWN01', name: 'ops' }], restrictChannels: true });
    const client = clientFor(server);

    expect(await platformError(client.apiCall('chat.postMessage', { text: 'no channel' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.postMessage({ channel: 'nowhere', text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.apiCall('chat.postMessage', { channel: 'alerts' }))).toBe('no_text');
    expect(await platformError(client.apiCall('chat.postMessage', { channel: 'alerts', blocks: [{ text: 'typeless' }] }))).toBe(
      'invalid_blocks',
    );
    expect(await platformError(client.apiCall('chat.postMessage', { channel: 'alerts', blocks: '{not json' }))).toBe(
      'invalid_blocks_format',
    );

    const posted = await client.chat.postMessage({ channel: 'ops', text: 'by name' });
    expect(posted.channel).toBe('C0KNOWN01');
    expect(await platformError(client.apiCall('chat.update', { ts: posted.ts, text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.apiCall('chat.update', { channel: 'C0KNOWN01', text: 'x' }))).toBe('message_not_found');
    expect(await platformError(client.chat.update({ channel: 'C0KNOWN01', ts: '1.000000', text: 'x' }))).toBe('message_not_found');
    expect(await platformError(client.apiCall('chat.update', { channel: 'C0KNOWN01', ts: posted.ts }))).toBe('no_text');
    const human = server.seedMessage({ channel: 'ops', text: 'typed by a person' });
    expect(await platformError(client.chat.update({ channel: 'ops', ts: human.ts, text: 'x' }))).toBe('cant_update_message');
    expect(await platformError(client.conversations.replies({ channel: 'ops', ts: '1.000000' }))).toBe('thread_not_found');
    expect(await platformError(client.apiCall('no.such.method'))).toBe('unknown_method');
    expect(server.messages('ops').map((m) => m.text)).toEqual(['by name', 'typed by a person']);
  });

  it('accepts JSON and form bodies, with the token in the header or the body', async () => {
    const server = await startServer();
    const asJson = await fetch(`${server.url}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0JSON001', text: 'json', blocks: [{ type: 'divider' }], unfurl_links: false }),
    });
    expect(asJson.status).toBe(200);
    expect(await asJson.json()).toMatchObject({ ok: true, channel: 'C0JSON001' });

    const asForm = await fetch(`${server.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, channel: 'C0JSON001', text: 'form', unfurl_media: 'false' }).toString(),
    });
    expect(await asForm.json()).toMatchObject({ ok: true });

    const badJson = await fetch(`${server.url}auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(badJson.status).toBe(200);
    expect(await badJson.json()).toEqual({ ok: false, error: 'invalid_json' });

    const [json, form] = server.messages('C0JSON001');
    expect(json?.blocks).toEqual([{ type: 'divider' }]);
    expect(json?.params.unfurl_links).toBe(false);
    expect(form?.params).toEqual({ channel: 'C0JSON001', text: 'form', unfurl_media: false });
  });

  it('pages conversations.history newest first', async () => {
    const server = await startServer({ rateLimiting: false });
    const client = clientFor(server);
    for (const text of ['one', 'two', 'three']) await client.chat.postMessage({ channel: 'C0PAGE001', text });
    const first = await client.conversations.history({ channel: 'C0PAGE001', limit: 2 });
    expect(first.messages?.map((m) => m.text)).toEqual(['three', 'two']);
    expect(first.has_more).toBe(true);
    const second = await client.conversations.history({
      channel: 'C0PAGE001',
      limit: 2,
      cursor: first.response_metadata?.next_cursor ?? '',
    });
    expect(second.messages?.map((m) => m.text)).toEqual(['one']);
    expect(second.has_more).toBe(false);
  });
});

describe('rate limits', () => {
  it('limits chat.postMessage per channel; rejectRateLimitedCalls surfaces retryAfter', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now, perChannelPerSecond: 1, perChannelBurst: 2 });
    const client = clientFor(server, { rejectRateLimitedCalls: true });

    await client.chat.postMessage({ channel: 'alerts', text: '1' });
    await client.chat.postMessage({ channel: 'alerts', text: '2' });
    const error: unknown = await client.chat.postMessage({ channel: 'alerts', text: '3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(1);

    // Other channels have their own bucket; the limited one refills after a second.
    await expect(client.chat.postMessage({ channel: 'other', text: 'x' })).resolves.toMatchObject({ ok: true });
    clock.t += 1000;
    await expect(client.chat.postMessage({ channel: 'alerts', text: '3 again' })).resolves.toMatchObject({ ok: true });

    expect(server.rateLimitedCount).toBe(1);
    expect(server.calls.filter((c) => c.status === 429)).toEqual([
      expect.objectContaining({ method: 'chat.postMessage', channel: 'alerts', error: 'ratelimited', retryAfter: 1 }),
    ]);
    expect(server.messages('alerts').map((m) => m.text)).toEqual(['1', '2', '3 again']);
  });

  it('sends HTTP 429 with an integer Retry-After and a ratelimited body', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now, perChannelPerSecond: 0.25, perChannelBurst: 1 });
    const post = (): Promise<Response> =>
      fetch(`${server.url}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'channel=alerts&text=hi',
      });
    expect((await post()).status).toBe(200);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('4');
    expect(await limited.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('with default retry behaviour the WebClient waits out a 429 and succeeds', async () => {
    const clock = manualClock();
    // Retry-After 0 keeps the real wait at zero; the manual clock refills the bucket when the client is told to wait.
    const server = await startServer({ now: clock.now, perChannelBurst: 1, retryAfterSeconds: 0 });
    const client = clientFor(server);
    const waits: number[] = [];
    client.on(WebClientEvent.RATE_LIMITED, (retryAfter: number) => {
      waits.push(retryAfter);
      clock.t += 1000;
    });

    await client.chat.postMessage({ channel: 'alerts', text: 'first' });
    const second = await client.chat.postMessage({ channel: 'alerts', text: 'second' });
    expect(second.ok).toBe(true);
    expect(waits).toEqual([0]);
    expect(server.rateLimitedCount).toBe(1);
    expect(server.calls.map((c) => c.status)).toEqual([200, 429, 200]);
    expect(server.messages('alerts').map((m) => m.text)).toEqual(['first', 'second']);
  });

  it('applies per-method tier limits', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now, tierLimits: { 'auth.test': { perMinute: 2 } } });
    const client = clientFor(server, { rejectRateLimitedCalls: true });
    await client.auth.test();
    await client.auth.test();
    const error: unknown = await client.auth.test().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(30);
    clock.t += 30_000;
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(server.stats().rateLimited).toBe(1);
  });

  it('can be reconfigured or switched off at runtime', async () => {
    const server = await startServer({ perChannelBurst: 1 });
    const client = clientFor(server, { rejectRateLimitedCalls: true });
    server.setRateLimits({ rateLimiting: false });
    for (let i = 0; i < 5; i += 1) await client.chat.postMessage({ channel: 'busy', text: String(i) });
    expect(server.messages('busy')).toHaveLength(5);
    server.setRateLimits({ rateLimiting: true });
    await client.chat.postMessage({ channel: 'busy', text: 'ok' });
    await expect(client.chat.postMessage({ channel: 'busy', text: 'limited' })).rejects.toBeInstanceOf(WebAPIRateLimitedError);
    expect(server.rateLimitedCount).toBe(1);
  });
});

describe('fault injection', () => {
  it('an injected 500 surfaces as a WebAPIHTTPError once retries are exhausted', async () => {
    const server = await startServer();
    server.failNext(3, 500);
    const error: unknown = await clientFor(server).chat.postMessage({ channel: 'alerts', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIHTTPError);
    expect((error as WebAPIHTTPError).statusCode).toBe(500);
    expect(server.calls.map((c) => [c.status, c.fault])).toEqual([
      [500, 'failNext'],
      [500, 'failNext'],
      [500, 'failNext'],
    ]);
    expect(server.messages()).toHaveLength(0);
    expect(server.stats().faultsInjected).toBe(3);
  });

  it('the WebClient retries through a transient 503 and an injected 429', async () => {
    const server = await startServer();
    const client = clientFor(server);
    server.failNext(1, 503);
    server.failNext(1, 429, { methods: ['chat.postMessage'], retryAfterSeconds: 0 });
    const res = await client.chat.postMessage({ channel: 'alerts', text: 'eventually' });
    expect(res.ok).toBe(true);
    expect(server.calls.map((c) => c.status)).toEqual([503, 429, 200]);
    expect(server.rateLimitedCount).toBe(1);
  });

  it('failNext can be limited to methods', async () => {
    const server = await startServer();
    const client = clientFor(server, { retryConfig: { retries: 0 } });
    server.failNext(1, 502, { methods: ['chat.update'] });
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    const posted = await client.chat.postMessage({ channel: 'alerts', text: 'x' });
    await expect(client.chat.update({ channel: posted.channel ?? '', ts: posted.ts ?? '', text: 'y' })).rejects.toMatchObject({
      statusCode: 502,
    });
  });

  it('outages last until their end time on the server clock', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now });
    const client = clientFor(server, { retryConfig: { retries: 0 } });
    server.setOutage({ status: 503, durationMs: 5_000 });
    await expect(client.auth.test()).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    clock.t += 5_000;
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });

    server.setOutage({ status: 429 });
    await expect(clientFor(server, { rejectRateLimitedCalls: true }).auth.test()).rejects.toMatchObject({ retryAfter: 1 });
    server.clearOutage();
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(server.calls.map((c) => c.status)).toEqual([503, 200, 429, 200]);
  });

  it('a rate-limit storm 429s posts and updates only, with Retry-After = time left', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now });
    const client = clientFor(server, { rejectRateLimitedCalls: true });
    const posted = await client.chat.postMessage({ channel: 'alerts', text: 'before' });
    server.rateLimitStorm(10_000);
    clock.t += 2_500;
    const error: unknown = await client.chat.postMessage({ channel: 'alerts', text: 'during' }).catch((e: unknown) => e);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(8);
    await expect(client.chat.update({ channel: posted.channel ?? '', ts: posted.ts ?? '', text: 'x' })).rejects.toBeInstanceOf(
      WebAPIRateLimitedError,
    );
    await expect(client.conversations.history({ channel: 'alerts' })).resolves.toMatchObject({ ok: true });
    clock.t += 7_500;
    await expect(client.chat.postMessage({ channel: 'alerts', text: 'after' })).resolves.toMatchObject({ ok: true });
    expect(server.rateLimitedCount).toBe(2);
    expect(server.calls.filter((c) => c.fault === 'storm').map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
  });

  it('adds latency and can drop connections', async () => {
    const server = await startServer();
    const client = clientFor(server, { retryConfig: { retries: 0 } });
    server.setLatency(80);
    const started = performance.now();
    await client.auth.test();
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    server.setLatency(0);

    server.failNext(1, 'reset');
    await expect(client.auth.test()).rejects.toBeInstanceOf(WebAPIRequestError);
    server.failNext(1, 'hang');
    await expect(clientFor(server, { retryConfig: { retries: 0 }, timeout: 100 }).auth.test()).rejects.toBeInstanceOf(
      WebAPIRequestError,
    );
    expect(server.calls.map((c) => c.status)).toEqual([200, 0, -1]);

    // The call takes effect, the answer never comes (a crash after Slack posted, before the client heard back).
    server.failNext(1, 'lose-reply', { methods: ['chat.postMessage'] });
    await expect(clientFor(server, { retryConfig: { retries: 0 }, timeout: 100 }).chat.postMessage({ channel: 'alerts', text: 'landed' })).rejects.toBeInstanceOf(
      WebAPIRequestError,
    );
    expect(server.messages('alerts').map((m) => m.text)).toEqual(['landed']);
    expect(server.calls.at(-1)).toMatchObject({ method: 'chat.postMessage', status: -1, fault: 'failNext' });
  });
});

describe('inspection and control', () => {
  it('records calls and stats, waits for messages and resets everything', async () => {
    const clock = manualClock();
    const server = await startServer({ now: clock.now });
    const client = clientFor(server);
    const waiting = server.waitForMessages(2, { channel: 'alerts', timeoutMs: 1000 });
    await client.chat.postMessage({ channel: 'alerts', text: 'a' });
    clock.t += 10;
    await client.chat.postMessage({ channel: 'alerts', text: 'b' });
    const seen = await waiting;
    expect(seen.map((m) => m.text)).toEqual(['a', 'b']);
    expect(seen.map((m) => m.postedAt)).toEqual([clock.t - 10, clock.t]);
    await expect(server.waitForMessages(3, { channel: 'alerts', timeoutMs: 20 })).rejects.toThrow(/timed out/);

    expect(server.calls).toEqual([
      expect.objectContaining({ method: 'chat.postMessage', status: 200, ok: true, channel: 'alerts', time: clock.t - 10 }),
      expect.objectContaining({ method: 'chat.postMessage', status: 200, ok: true, channel: 'alerts', time: clock.t }),
    ]);
    expect(server.stats()).toMatchObject({ requests: 2, rateLimited: 0, byStatus: { '200': 2 }, byMethod: { 'chat.postMessage': 2 } });

    // Snapshots are copies: mutating them does not change the server's record.
    const snapshot = server.messages('alerts')[0] as { text?: string };
    snapshot.text = 'tampered';
    expect(server.messages('alerts')[0]?.text).toBe('a');

    server.failNext(5, 500);
    server.reset();
    expect(server.messages()).toEqual([]);
    expect(server.calls).toEqual([]);
    expect(server.rateLimitedCount).toBe(0);
    await expect(client.chat.postMessage({ channel: 'alerts', text: 'fresh' })).resolves.toMatchObject({ ok: true });
  });

  it('exposes the same controls over HTTP admin routes', async () => {
    const server = await startServer();
    const client = clientFor(server, { retryConfig: { retries: 0 } });
    const admin = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${server.baseUrl}_admin/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    expect((await admin('fail-next', { count: 1, status: 503 })).status).toBe(200);
    await expect(client.auth.test()).rejects.toMatchObject({ statusCode: 503 });
    await client.chat.postMessage({ channel: 'alerts', text: 'via api' });
    const messages = (await (await admin('messages?channel=alerts')).json()) as { messages: { text: string }[] };
    expect(messages.messages.map((m) => m.text)).toEqual(['via api']);
    const stats = (await (await admin('stats')).json()) as { stats: { requests: number; faultsInjected: number } };
    expect(stats.stats).toMatchObject({ requests: 2, faultsInjected: 1 });
    expect((await admin('fail-next', { count: 0 })).status).toBe(400);
    expect((await admin('reset', {})).status).toBe(200);
    expect(server.messages()).toHaveLength(0);
  });

  it('runs standalone from main.ts and prints its URL', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--token', 'xoxb-cli'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = chunk.toString('utf8').trim().split('\n')[0] ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
      const client = new WebClient('xoxb-cli', { slackApiUrl: url, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });
      await expect(client.auth.test()).resolves.toMatchObject({ ok: true, bot_id: 'B0000000001' });
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
