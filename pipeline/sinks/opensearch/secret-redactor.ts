import { createRedactor } from '../../logging/redact-secrets.ts';
import type { Redact } from '../../logging/redact-secrets.ts';
import type { OpenSearchAuth } from './config.ts';

export type { Redact } from '../../logging/redact-secrets.ts';

/**
 * The shared redactor (pipeline/logging/redact-secrets.ts) fed with the OpenSearch credentials: a server or proxy can
 * reflect the Authorization header or the URL into an error body, and such bodies end up in error messages and
 * dead-letter reasons. URL credentials are removed whatever the auth kind.
 */
export function createSecretRedactor(auth: OpenSearchAuth): Redact {
  if (auth.kind !== 'basic') return createRedactor([]);
  return createRedactor([auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')]);
}
