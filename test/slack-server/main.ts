/**
 * Standalone local Slack Web API server.
 *
 *   npx tsx test/slack-server/main.ts --port 3999 --token xoxb-test
 *
 * Prints the Web API URL (for `slackApiUrl` / SLACK_API_URL) on stdout, details on stderr.
 * Faults can be injected over HTTP: see admin-routes.ts (e.g. POST /_admin/fail-next {"count":3,"status":503}).
 */
import { parseArgs } from 'node:util';
import { SlackServer } from './slack-server.ts';
import type { SlackServerOptions } from './slack-server-types.ts';

const usage = `usage: tsx test/slack-server/main.ts [options]
  --port <n>                   listen port (default 3999; 0 = any free port)
  --host <addr>                listen address (default 127.0.0.1)
  --token <t>                  valid bot token, repeatable (default xoxb-test)
  --channel <name|id>          pre-register a channel, repeatable
  --restrict-channels          unknown channels answer channel_not_found
  --per-channel-per-second <n> chat.postMessage rate per channel (default 1)
  --burst <n>                  chat.postMessage burst per channel (default 3)
  --no-rate-limits             disable all rate limits
  --retry-after <s>            fixed Retry-After seconds for every 429
  --latency <ms>               delay every response
  --help`;

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got ${value}`);
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string', multiple: true },
    channel: { type: 'string', multiple: true },
    'restrict-channels': { type: 'boolean' },
    'per-channel-per-second': { type: 'string' },
    burst: { type: 'string' },
    'no-rate-limits': { type: 'boolean' },
    'retry-after': { type: 'string' },
    latency: { type: 'string' },
    help: { type: 'boolean' },
  },
  strict: true,
});

if (values.help === true) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const options: SlackServerOptions = {
  port: num('port', values.port) ?? 3999,
  host: values.host ?? '127.0.0.1',
  token: values.token ?? ['xoxb-test'],
  channels: values.channel ?? [],
  restrictChannels: values['restrict-channels'] === true,
  rateLimiting: values['no-rate-limits'] !== true,
  ...(values['per-channel-per-second'] === undefined ? {} : { perChannelPerSecond: num('per-channel-per-second', values['per-channel-per-second']) }),
  ...(values.burst === undefined ? {} : { perChannelBurst: num('burst', values.burst) }),
  ...(values['retry-after'] === undefined ? {} : { retryAfterSeconds: num('retry-after', values['retry-after']) }),
  ...(values.latency === undefined ? {} : { latencyMs: num('latency', values.latency) }),
};

const server = await SlackServer.start(options);
process.stdout.write(`${server.url}\n`);
process.stderr.write(
  `slack-server: Web API at ${server.url} (tokens: ${[...(values.token ?? ['xoxb-test'])].join(', ')}); admin at ${server.baseUrl}_admin/\n`,
);

const shutdown = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
