import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { describeIssues } from '../../schemas/describe-issues.ts';

/**
 * The secrets a Lambda container resolves at cold start (the CDK app writes this variable; Lambda has no secret
 * injection, and secret values never go into the template): environment variable name -> secret, or one JSON key of it.
 *
 * @example
 * { PGPASSWORD: { secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftwatch/db-AbCdEf', jsonKey: 'password' },
 *   SLACK_TOKEN: { secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftwatch/slack-AbCdEf' } }
 */
export const SecretReferences = z.record(
  z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name'),
  z.object({ secretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:/, 'expected a Secrets Manager ARN'), jsonKey: z.string().min(1).optional() }),
);
export type SecretReferences = z.infer<typeof SecretReferences>;

export const SecretsVariable = 'DRIFTWATCH_SECRETS';

export class SecretResolutionError extends Error {
  override readonly name = 'SecretResolutionError';
}

/**
 * Reads every secret named by `DRIFTWATCH_SECRETS` and sets it into `env` (node-postgres reads PGUSER/PGPASSWORD from
 * the process environment, settings read SLACK_TOKEN and the like). Errors name the variable and the secret's ARN,
 * never a value.
 */
export async function resolveSecrets(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): Promise<number> {
  const text = env[SecretsVariable];
  if (!text) return 0;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SecretResolutionError(`${SecretsVariable} is not JSON`);
  }
  const parsed = SecretReferences.safeParse(json);
  if (!parsed.success) throw new SecretResolutionError(`${SecretsVariable}: ${describeIssues(parsed.error.issues)}`);
  const secrets = client ?? new SecretsManagerClient({ ...(env.SECRETS_MANAGER_ENDPOINT ? { endpoint: env.SECRETS_MANAGER_ENDPOINT } : {}) });
  try {
    // One call per secret, not per variable: a database secret carries both user and password.
    const values = new Map<string, Promise<string>>();
    const read = (arn: string) => {
      let value = values.get(arn);
      if (!value) {
        value = secrets.send(new GetSecretValueCommand({ SecretId: arn })).then(
          (out) => {
            if (out.SecretString === undefined) throw new SecretResolutionError(`secret ${arn} has no string value`);
            return out.SecretString;
          },
          (error: unknown) => {
            throw new SecretResolutionError(`cannot read secret ${arn}: ${(error as Error).name}`, { cause: error });
          },
        );
        values.set(arn, value);
      }
      return value;
    };
    const entries = Object.entries(parsed.data);
    const resolved = await Promise.all(
      entries.map(async ([name, ref]) => {
        const value = await read(ref.secretArn);
        if (!ref.jsonKey) return [name, value] as const;
        let fields: unknown;
        try {
          fields = JSON.parse(value);
        } catch {
          throw new SecretResolutionError(`secret ${ref.secretArn} for ${name} is not JSON, so it has no key ${ref.jsonKey}`);
        }
        const field = (fields as Record<string, unknown> | null)?.[ref.jsonKey];
        if (typeof field !== 'string' && typeof field !== 'number') throw new SecretResolutionError(`secret ${ref.secretArn} has no key ${ref.jsonKey} (for ${name})`);
        return [name, String(field)] as const;
      }),
    );
    for (const [name, value] of resolved) env[name] = value;
    return resolved.length;
  } finally {
    if (!client) secrets.destroy();
  }
}
