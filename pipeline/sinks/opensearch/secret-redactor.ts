import type { OpenSearchAuth } from './config.ts';

export type Redact = (text: string) => string;

/**
 * Removes the OpenSearch password from text that may echo it: a server or proxy can reflect the Authorization header
 * or the URL into an error body, and such bodies end up in error messages and dead-letter reasons.
 */
export function createSecretRedactor(auth: OpenSearchAuth): Redact {
  if (auth.kind !== 'basic') return (text) => text;
  const secrets = [
    auth.password,
    encodeURIComponent(auth.password),
    Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
  ].filter((secret, i, all) => secret.length > 0 && all.indexOf(secret) === i);
  return (text) => {
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  };
}
