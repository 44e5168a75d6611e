import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AwsJsonServer, AwsServiceError, TestCredentials } from '../aws-server/aws-json-server.ts';
import { resolveSecrets, SecretResolutionError } from '../../pipeline/lambda/resolve-secrets.ts';

const DatabaseArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftwatch/db-AbCdEf';
const SlackArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftwatch/slack-AbCdEf';
const secrets: Record<string, string> = {
  [DatabaseArn]: JSON.stringify({ username: 'driftwatch', password: 's3cret-db-password' }),
  [SlackArn]: 'xoxb-secret-slack-token',
};

describe('Lambda secrets from Secrets Manager (DRIFTWATCH_SECRETS), through the real SDK client', () => {
  let server: AwsJsonServer;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    server = await AwsJsonServer.start([
      {
        targetPrefix: 'secretsmanager',
        operations: {
          GetSecretValue: (input) => {
            const value = secrets[String(input.SecretId)];
            if (value === undefined) throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
            return { ARN: input.SecretId, Name: 'x', SecretString: value, VersionId: 'v1' };
          },
        },
      },
    ]);
    client = new SecretsManagerClient({ endpoint: server.endpoint, region: 'eu-west-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 3 });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  const reference = (value: unknown) => ({ DRIFTWATCH_SECRETS: JSON.stringify(value) });

  it('sets each variable from its secret (one JSON key, or the whole string), one call per secret, through a throttling burst', async () => {
    const before = server.callsOf('GetSecretValue').length;
    server.throttle(1, 'GetSecretValue');
    const env: NodeJS.ProcessEnv = reference({
      PGUSER: { secretArn: DatabaseArn, jsonKey: 'username' },
      PGPASSWORD: { secretArn: DatabaseArn, jsonKey: 'password' },
      SLACK_TOKEN: { secretArn: SlackArn },
    });
    expect(await resolveSecrets(env, client)).toBe(3);
    expect([env.PGUSER, env.PGPASSWORD, env.SLACK_TOKEN]).toEqual(['driftwatch', 's3cret-db-password', 'xoxb-secret-slack-token']);
    const calls = server.callsOf('GetSecretValue').slice(before);
    expect(calls.filter((call) => !call.error).map((call) => call.input.SecretId).sort()).toEqual([DatabaseArn, SlackArn]);
  });

  it('does nothing without the variable', async () => {
    const env: NodeJS.ProcessEnv = { SLACK_TOKEN: 'unchanged' };
    expect(await resolveSecrets(env, client)).toBe(0);
    expect(env.SLACK_TOKEN).toBe('unchanged');
  });

  it.each([
    ['not JSON', { DRIFTWATCH_SECRETS: '{' }, /DRIFTWATCH_SECRETS is not JSON/],
    ['a bad variable name', reference({ 'pg password': { secretArn: DatabaseArn } }), /DRIFTWATCH_SECRETS: pg password: Invalid key/],
    ['a missing secret', reference({ SLACK_TOKEN: { secretArn: `${SlackArn}-gone` } }), /cannot read secret .*-gone: ResourceNotFoundException/],
    ['a key the secret lacks', reference({ PGPASSWORD: { secretArn: DatabaseArn, jsonKey: 'pass' } }), /has no key pass \(for PGPASSWORD\)/],
    ['a key of a secret that is not JSON', reference({ SLACK_TOKEN: { secretArn: SlackArn, jsonKey: 'token' } }), /is not JSON, so it has no key token/],
  ])('refuses %s with one line that names it and shows no secret value', async (_what, env, message) => {
    const error = await resolveSecrets({ ...env }, client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretResolutionError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/s3cret|xoxb-secret/);
    expect((error as Error).message).not.toContain('\n');
  });
});
