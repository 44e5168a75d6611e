import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

// No Docker engine on the CI machines: the compose file is checked for what a try-out needs, not run.
const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
  services: Record<string, { build?: unknown; ports?: string[]; command?: string[]; entrypoint?: string[]; depends_on?: Record<string, { condition: string }>; environment?: Record<string, string>; restart?: string }>;
};

describe('docker-compose.yml (issue 14 item 12)', () => {
  const services = compose.services;

  it('publishes only on loopback, and Postgres on a port that does not clash with a local one', () => {
    for (const [name, service] of Object.entries(services)) for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    expect(services.postgres!.ports).toEqual(['127.0.0.1:55432:5432']);
  });

  it('runs migrate once, then the consumer built from the Dockerfile, with Kinesis, OpenSearch and a Slack test server', () => {
    expect(services.migrate).toMatchObject({ build: '.', command: ['migrate'], restart: 'no' });
    expect(services.driftwatch).toMatchObject({ build: '.', command: ['run'] });
    expect(services.driftwatch!.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
      'kinesis-stream': { condition: 'service_completed_successfully' },
    });
    const env = services.driftwatch!.environment!;
    expect(env.DATABASE_URL).toBe('postgres://driftwatch:driftwatch@postgres:5432/driftwatch');
    expect(env.KINESIS_ENDPOINT).toBe('http://kinesis:4567');
    expect(env.SLACK_API_URL).toBe('http://slack:3999/api/');
    expect(env.DRIFTWATCH_METRICS_HOST).toBe('0.0.0.0');
    expect(services.migrate!.environment).toEqual(env);
    // The Slack server's image is built from test/slack-server and starts its main.ts, which exists.
    const slack = services.slack!.build as { context: string; dockerfile_inline: string };
    expect(slack.context).toBe('./test/slack-server');
    expect(slack.dockerfile_inline).toContain('"test/slack-server/main.ts", "--host", "0.0.0.0"');
    expect(existsSync(`${root}test/slack-server/main.ts`)).toBe(true);
    expect(existsSync(`${root}node_modules/kinesalite/cli.js`)).toBe(true);
    expect(services.kinesis!.entrypoint).toEqual(['node', 'node_modules/kinesalite/cli.js', '--port', '4567', '--createStreamMs', '0']);
  });
});
