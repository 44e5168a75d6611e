/**
 * Standalone local AWS Config + Organizations server with a generated organization, for trying out
 * `driftwatch accounts sync` and `driftwatch reconcile` without an AWS account.
 *
 *   npx tsx test/aws-server/main.ts --port 4599
 *
 * Prints the endpoint on stdout (use it as CONFIG_ENDPOINT and ORGANIZATIONS_ENDPOINT), details on stderr.
 */
import { parseArgs } from 'node:util';
import { AwsJsonServer } from './aws-json-server.ts';
import { configService } from './config/config-service.ts';
import { ConfigEstate } from './config/config-estate.ts';
import { organizationsService } from './organizations/organizations-service.ts';
import { GeneratedOrganization } from './organizations/generated-organization.ts';

const usage = `usage: tsx test/aws-server/main.ts [options]
  --port <n>         listen port (default 4599; 0 = any free port)
  --accounts <n>     accounts in the organization (default 100)
  --regions <n>      regions per account, 1..16 (default 16)
  --rules <n>        org Config rules, 1..32 (default 30)
  --seed <n>         generator seed (default 23)
  --aggregator <s>   aggregator name (default organization-aggregator)
  --latency <ms>     delay every response
  --help`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    accounts: { type: 'string' },
    regions: { type: 'string' },
    rules: { type: 'string' },
    seed: { type: 'string' },
    aggregator: { type: 'string' },
    latency: { type: 'string' },
    help: { type: 'boolean' },
  },
  strict: true,
});
if (values.help === true) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`aws-server: --${name} expects a whole number from ${min} to ${max}, got ${value}\n`);
    process.exit(2);
  }
  return n;
}

const seed = int('seed', values.seed, 23, 0, 2 ** 31);
const org = GeneratedOrganization.generate({ accounts: int('accounts', values.accounts, 100, 1, 5_000), seed });
const estate = ConfigEstate.generate(
  { accountIds: org.accounts.map((a) => a.id), regions: int('regions', values.regions, 16, 1, 16), rules: int('rules', values.rules, 30, 1, 32), seed },
  values.aggregator ?? 'organization-aggregator',
);
const server = await AwsJsonServer.start([configService(estate), organizationsService(org)], { port: int('port', values.port, 4599, 0, 65_535) });
const latency = int('latency', values.latency, 0, 0, 60_000);
if (latency > 0) server.setLatency(latency);
process.stdout.write(`${server.endpoint}\n`);
process.stderr.write(
  `aws-server: Config (aggregator ${estate.aggregatorName}) and Organizations at ${server.endpoint}: ` +
    `${org.accounts.length} accounts, ${estate.size} evaluations on ${estate.items().length} resources\n`,
);
const shutdown = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
